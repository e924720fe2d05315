// Command basic is the test guest for package wasmhost: one module that
// exercises every host call and every failure the host must contain, chosen
// by event type.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// hoard keeps memory reachable so "grow" really grows.
var hoard [][]byte

func init() {
	sdk.On(sdk.EventInitiate, func(ev sdk.Event) sdk.Decision {
		sdk.Log(sdk.LevelInfo, "initiate "+ev.CallID())
		return sdk.BXML(fmt.Sprintf("<Response><SpeakSentence>Hello %s, calling %s</SpeakSentence></Response>", ev.From(), ev.To()))
	})
	// noop is the floor of an event: dispatch and an empty decision.
	sdk.On("noop", func(sdk.Event) sdk.Decision { return sdk.BXML("") })
	sdk.On(sdk.EventGather, func(ev sdk.Event) sdk.Decision {
		return sdk.BXML("<Response><SpeakSentence>You pressed " + ev.Digits() + " as " + ev.Variable("caller") + "</SpeakSentence></Response>")
	})
	sdk.On(sdk.EventSIPInbound, func(ev sdk.Event) sdk.Decision {
		r := ev.SIP
		if strings.Contains(r.From, "blocked") {
			return sdk.Reject(403, "Blocked by module")
		}
		if app := r.XHeader("X-Route-To"); app != "" {
			return sdk.Route(app)
		}
		return sdk.Continue().
			SetHeader("X-Customer", r.XHeader("X-Customer-Id")).
			RemoveHeader("User-Agent").
			SetVariable("source", r.Source).
			SetVariable("method", r.Method)
	})
	sdk.On("count", func(ev sdk.Event) sdk.Decision {
		key := "count:" + ev.From()
		v, _, err := sdk.KVGet(key)
		if err != nil {
			return sdk.Fail(err)
		}
		n, _ := strconv.Atoi(string(v))
		n++
		if err := sdk.KVSet(key, []byte(strconv.Itoa(n))); err != nil {
			return sdk.Fail(err)
		}
		return sdk.BXML("<Response><SpeakSentence>" + strconv.Itoa(n) + "</SpeakSentence></Response>")
	})
	sdk.On("kvlimits", func(ev sdk.Event) sdk.Decision {
		d := sdk.BXML("<Response/>")
		size, _ := strconv.Atoi(ev.String("size"))
		err := sdk.KVSet(ev.String("key"), make([]byte, size))
		d = d.SetVariable("set", errText(err))
		v, ok, err := sdk.KVGet(ev.String("key"))
		d = d.SetVariable("get", errText(err)).SetVariable("found", strconv.FormatBool(ok)).SetVariable("len", strconv.Itoa(len(v)))
		return d
	})
	sdk.On("logs", func(ev sdk.Event) sdk.Decision {
		sdk.Log(sdk.LevelWarn, "warned")
		sdk.Log(sdk.LevelError, strings.Repeat("x", 10000))
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		return sdk.BXML("<Response/>")
	})
	sdk.On("spin", func(sdk.Event) sdk.Decision {
		for {
		}
	})
	sdk.On("grow", func(sdk.Event) sdk.Decision {
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	})
	sdk.On("panic", func(sdk.Event) sdk.Decision { panic("boom") })
	sdk.On("exit", func(sdk.Event) sdk.Decision { os.Exit(3); return sdk.Decision{} })
	sdk.On("fail", func(sdk.Event) sdk.Decision { return sdk.Fail(fmt.Errorf("no route for you")) })
	sdk.On("badaction", func(sdk.Event) sdk.Decision { return sdk.Reject(403, "call events cannot reject") })
	sdk.On("bigreply", func(sdk.Event) sdk.Decision {
		return sdk.BXML("<Response><SpeakSentence>" + strings.Repeat("a", 100<<10) + "</SpeakSentence></Response>")
	})
	sdk.On("echo", func(ev sdk.Event) sdk.Decision {
		return sdk.BXML(ev.String("text"))
	})
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func main() {}
