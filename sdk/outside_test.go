//go:build !wasm

package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// The module path is not published (go get answers 403), so README.md
// documents building against a clone. This runs its recipes as written, in
// a new module outside the repository, so the documented way is the tested
// way: a recipe that stops working fails here, not in a user's hands.
func TestUseFromAnotherModule(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build a module: %v", err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if gomod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !bytes.HasPrefix(gomod, []byte("module github.com/wasmvoice/wasmvoice\n")) {
		t.Fatalf("%s is not the wasmvoice module root (%v)", root, err)
	}
	mainGo := fencedBlock(t, readme, "<!-- recipe:main.go")
	host := newGreetHost(t)

	for _, recipe := range []string{"replace", "go.work"} {
		t.Run(recipe, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if strings.HasPrefix(dir, root+string(filepath.Separator)) {
				t.Fatalf("temporary directory %s is inside the repository", dir)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.go"), mainGo, 0o644); err != nil {
				t.Fatal(err)
			}
			env := goEnv(recipe == "replace")
			for _, line := range recipeLines(t, fencedBlock(t, readme, "<!-- recipe:"+recipe+" ")) {
				runRecipeLine(t, goTool, dir, env, root, line)
			}
			// The clone, not a download, is what the build used.
			cmd := exec.Command(goTool, "list", "-m", "-f", "{{with .Replace}}{{.Dir}}{{else}}{{.Dir}}{{end}}", "github.com/wasmvoice/wasmvoice")
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != root {
				t.Fatalf("the SDK resolved to %q, want the clone %s (%v)", out, root, err)
			}
			wasm, err := os.ReadFile(filepath.Join(dir, "handler.wasm"))
			if err != nil {
				t.Fatal(err)
			}
			host.greets(t, wasm)
		})
	}
}

// fencedBlock returns the body of the first fenced code block after the
// line starting with marker.
func fencedBlock(t *testing.T, doc []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(doc, []byte("\n"+marker))
	if i < 0 {
		t.Fatalf("README.md has no %q", marker)
	}
	rest := doc[i+1:]
	open := regexp.MustCompile("(?m)^```[a-z]*\n")
	loc := open.FindIndex(rest)
	if loc == nil {
		t.Fatalf("no code block after %q", marker)
	}
	body := rest[loc[1]:]
	end := bytes.Index(body, []byte("\n```"))
	if end < 0 {
		t.Fatalf("unterminated code block after %q", marker)
	}
	return body[:end+1]
}

// recipeLines are the commands of a shell block: one per line, comments
// and blank lines left out.
func recipeLines(t *testing.T, block []byte) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(block))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatal("empty recipe")
	}
	return lines
}

var envAssign = regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`)

// runRecipeLine runs one recipe line the way sh would for the simple lines
// a recipe has: leading NAME=value assignments, then a go command, with
// $WASMVOICE standing for the clone. Anything fancier is refused rather
// than run differently from a shell.
func runRecipeLine(t *testing.T, goTool, dir string, env []string, root, line string) {
	t.Helper()
	if strings.ContainsAny(line, "\"'`|&;<>(){}\\*?~") {
		t.Fatalf("recipe line %q needs a shell; keep recipes to plain go commands", line)
	}
	args := strings.Fields(line)
	var assigns []string
	for len(args) > 0 && envAssign.MatchString(args[0]) {
		assigns, args = append(assigns, args[0]), args[1:]
	}
	if len(args) == 0 || args[0] != "go" {
		t.Fatalf("recipe line %q: only go commands are run", line)
	}
	for i, a := range args {
		args[i] = os.Expand(a, func(name string) string {
			if name != "WASMVOICE" {
				t.Fatalf("recipe line %q uses $%s; only $WASMVOICE is defined", line, name)
			}
			return root
		})
	}
	cmd := exec.Command(goTool, args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), env...), assigns...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
}

// goEnv is the test's environment for the go tool, without what would make
// it differ from a user's shell: a target platform or workspace inherited
// from whoever runs the tests. The module proxy, module cache and build
// cache stay as they are.
func goEnv(noWorkspace bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "GOOS", "GOARCH", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	if noWorkspace {
		// A go.work in a directory above the temporary one would otherwise
		// take over; the replace recipe is for a module on its own.
		env = append(env, "GOWORK=off")
	}
	return env
}

// greetHost runs modules with the README's handler in the wasmhost, with a
// greeting in the application's key-value store.
type greetHost struct{ h *wasmhost.Host }

func newGreetHost(t *testing.T) *greetHost {
	t.Helper()
	ctx := context.Background()
	kv := &wasmhost.MemKV{}
	if err := kv.Set(ctx, "app-1", "greeting", []byte("Welcome to Acme & Co")); err != nil {
		t.Fatal(err)
	}
	h, err := wasmhost.New(ctx, wasmhost.Config{
		CacheDir: testenv.WasmCompilationCache(t), KV: kv, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("close host: %v", err)
		}
	})
	return &greetHost{h: h}
}

// greets loads wasm as the server would (validation, compilation, a warm
// instance) and checks that it answers initiate with the stored greeting.
func (g *greetHost) greets(t *testing.T, wasm []byte) {
	t.Helper()
	ctx := context.Background()
	m, err := g.h.Compile(ctx, wasm)
	if err != nil {
		t.Fatalf("the host refuses the module: %v", err)
	}
	p, err := g.h.NewPool(ctx, m, wasmhost.PoolConfig{App: "app-1", Name: "myhandler"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	d, err := p.Handle(ctx, sdk.Event{Type: sdk.EventInitiate, Fields: map[string]any{"eventType": "initiate", "callId": "c-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<Response><SpeakSentence>Welcome to Acme &amp; Co</SpeakSentence></Response>"; d.BXML != want {
		t.Fatalf("decision %+v, want BXML %s", d, want)
	}
}
