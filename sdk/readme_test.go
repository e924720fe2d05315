//go:build !wasm

package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// README.md is the SDK's manual for module authors, who never read the
// source: every exported name, in both builds (module and native), must
// appear in its code (a fenced block or an inline code span), methods as
// .Name, so an export added without documentation fails here.
func TestReadmeCoversEveryExport(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := readmeCode(string(readme))
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range exportedNames(file) {
			if seen[name] {
				continue
			}
			seen[name] = true
			pattern := `\b` + name + `\b` // a function, type, constant, variable or field
			if method, ok := strings.CutPrefix(name, "."); ok {
				pattern = `\.` + method + `\b`
			}
			if !regexp.MustCompile(pattern).MatchString(code) {
				t.Errorf("README.md does not show %s (%s)", name, f)
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("found only %d exported names: is the parsing broken?", len(seen))
	}
}

// exportedNames lists a file's exported functions, types, constants and
// variables, exported struct fields, and exported methods as ".Name".
func exportedNames(f *ast.File) []string {
	var names []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv != nil {
				names = append(names, "."+d.Name.Name)
			} else {
				names = append(names, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					names = append(names, s.Name.Name)
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							for _, n := range fld.Names {
								if n.IsExported() {
									names = append(names, n.Name)
								}
							}
						}
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	return names
}

// readmeCode is the code of a Markdown document: its fenced blocks and
// inline code spans, one per line.
func readmeCode(doc string) string {
	var b strings.Builder
	inFence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			b.WriteString(line + "\n")
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
			b.WriteString(m[1] + "\n")
		}
	}
	return b.String()
}
