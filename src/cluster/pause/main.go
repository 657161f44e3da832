// The pod sandbox's first process, in the role of the upstream pause image (no registry is
// reachable here): it holds the pod's namespaces open, reaps the zombies that PID 1 inherits in a
// shared process namespace, and exits when the runtime asks it to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			return
		}
		reapExitedChildren()
	}
}

func reapExitedChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
