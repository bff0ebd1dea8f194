{{/* Names shared by every template. */}}
{{- define "kansoku.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kansoku.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kansoku.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "kansoku.secretName" -}}
{{ .Values.secrets.existingSecret | default (printf "%s-secrets" (include "kansoku.fullname" .)) }}
{{- end -}}

{{- define "kansoku.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "kansoku.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{/* Environment every kansoku process gets: where the configuration file and the external systems are. */}}
{{- define "kansoku.commonEnv" -}}
- name: KANSOKU_CONFIG
  value: /etc/kansoku/kansoku.yaml
- name: KANSOKU_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}
