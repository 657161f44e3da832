module hotdesk.local/pause

go 1.26
