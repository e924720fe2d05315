package main

import (
	"github.com/wasmvoice/wasmvoice/server"
)

// transcriptionFlags registers the speech-to-text flags.
func transcriptionFlags(f flags, cfg *server.Config) {
	t := &cfg.Transcription
	f.str(&t.URL, "transcription-url", "", "a self-hosted recogniser's /v1/audio/transcriptions endpoint (multipart upload, JSON {\"text\": ...}) that transcribes recordings; empty: pocketsphinx on this machine")
	f.str(&t.Model, "transcription-model", "whisper-1", "model field sent to --transcription-url")
	f.integer(&t.Workers, "transcription-workers", server.DefaultTranscriptionWorkers, 1, "recordings transcribed at once")
	f.integer(&t.Queue, "transcription-queue", server.DefaultTranscriptionQueue, 1, "transcriptions waiting for a worker; past it a request fails at once (transcribeCallRecording: 429)")
}
