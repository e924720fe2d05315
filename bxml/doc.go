// Package bxml is the BXML language of wasmvoice: the Bandwidth-compatible
// XML documents that drive a call.
//
// It parses and validates documents (Parse, with *Error naming the verb,
// attribute, reason and line), builds them (NewResponse, the NewXxx verb
// constructors and Marshal, whose output Parse reads back identically), runs
// them against a Call that the engine implements (Run), and defines the
// callback events sent to applications, with JSON field names exactly as in
// the Bandwidth Voice API specification.
//
// Attribute values are mapped by struct tags on the verb types (see spec.go):
// one table drives parsing, defaults, validation and marshalling, so the
// three can never disagree.
package bxml
