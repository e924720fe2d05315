package sdk

import (
	"encoding/json"
	"reflect"
	"testing"
)

var jsonSeeds = []string{
	`{}`,
	`{"v":1,"event":"initiate","callId":"c-1","from":"+1555","n":-12.5e3,"ok":true,"nil":null}`,
	`{"a":[1,"x",{"b":[]}],"c":{"d":{}}}`,
	`{"esc":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"}`,
	`{"bad utf8":"` + "\xff\xfe" + `"}`,
	` { "spaced" : [ 1 , 2 ] } `,
	`{"v":1e999}`,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":"unterminated}`,
	`{"a":1,}`,
	`{"a" 1}`,
	`[1,2]`,
	`{"a":1} trailing`,
	`{"a":"\x"}`,
	`{"a":"\u12"}`,
	`{"a":tru}`,
	"{\"a\":\"ctl\x01\"}",
	`{"dup":1,"dup":2}`,
	`{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

// FuzzParseJSONObject holds the guest's JSON reader to encoding/json: same
// values when both accept, and nothing accepted that encoding/json refuses.
func FuzzParseJSONObject(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseJSONObject(b)
		var want map[string]any
		stdErr := json.Unmarshal(b, &want)
		if err != nil {
			return // refusing more (deep nesting) is allowed
		}
		if stdErr != nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", b, stdErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te\back`, "<tag>&amp;", "line\nbreak\ttab\x00\x1f", "\u2028\u2029é😀", "\xff\xfe bad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}
