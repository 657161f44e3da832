{{/* The chart name, overridable. */}}
{{- define "hotdesk-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name. A release named like the chart does not repeat the chart name.
*/}}
{{- define "hotdesk-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hotdesk-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "hotdesk-operator.labels" -}}
helm.sh/chart: {{ include "hotdesk-operator.chart" . }}
{{ include "hotdesk-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hotdesk-operator
{{- end }}

{{/* Labels that select the controller's pods; immutable once a Deployment exists. */}}
{{- define "hotdesk-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hotdesk-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "hotdesk-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hotdesk-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The controller image; a digest pins it more firmly than a tag. */}}
{{- define "hotdesk-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The image of the per-pool edge pods the controller creates. */}}
{{- define "hotdesk-operator.edgeImage" -}}
{{- default (include "hotdesk-operator.image" .) .Values.edge.image }}
{{- end }}
