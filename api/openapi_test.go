package api

import (
	"os"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// openapi.yaml validates against the OpenAPI 3.1 schema, and every operation
// has an ID, a summary and examples that generated clients and docs can show.
func TestOpenAPIDocumentIsValid31(t *testing.T) {
	b, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("version %q, want 3.1.0", v)
	}
	ok, verrs := schema_validation.ValidateOpenAPIDocument(doc)
	if !ok {
		for _, e := range verrs {
			t.Errorf("invalid: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.FieldPath)
			}
		}
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			n++
			if op.OperationId == "" || op.Summary == "" {
				t.Errorf("%s %s: operationId %q summary %q", method, path, op.OperationId, op.Summary)
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations")
	}
	// Examples: the request/response schemas carry them (from `example` tags).
	withExamples := 0
	for _, sp := range model.Model.Components.Schemas.FromOldest() {
		s := sp.Schema()
		for _, prop := range s.Properties.FromOldest() {
			if ps := prop.Schema(); ps != nil && len(ps.Examples) > 0 {
				withExamples++
			}
		}
	}
	if withExamples < 5 {
		t.Fatalf("only %d schema properties have examples", withExamples)
	}
}
