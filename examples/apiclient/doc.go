// Package apiclient is a Go client generated from openapi.yaml by
// oapi-codegen. It exists to prove the published document is usable: its test
// regenerates it and drives a real server with it.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
