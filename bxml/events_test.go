package bxml

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"gopkg.in/yaml.v3"
)

// specPath is the Bandwidth Voice API document our callbacks follow, kept in
// the repository so the tests need nothing beside it.
const specPath = "../reference/bandwidth-voice-api.yml"

var eventSchemas = map[string]Event{
	"initiateCallback":             &InitiateEvent{},
	"answerCallback":               &AnswerEvent{},
	"gatherCallback":               &GatherEvent{},
	"dtmfCallback":                 &DtmfEvent{},
	"recordingCompleteCallback":    &RecordCompleteEvent{},
	"recordingAvailableCallback":   &RecordingAvailableEvent{},
	"redirectCallback":             &RedirectEvent{},
	"transferAnswerCallback":       &TransferAnswerEvent{},
	"transferCompleteCallback":     &TransferCompleteEvent{},
	"transferDisconnectCallback":   &TransferDisconnectEvent{},
	"disconnectCallback":           &DisconnectEvent{},
	"bridgeCompleteCallback":       &BridgeCompleteEvent{},
	"bridgeTargetCompleteCallback": &BridgeTargetCompleteEvent{},

	"machineDetectionCompleteCallback": &MachineDetectionCompleteEvent{},
	"transcriptionAvailableCallback":   &TranscriptionAvailableEvent{},
}

// Deliberate, documented departures from the "optional means omitted" rule
// (see events.go).
var (
	alwaysSent    = []string{"digits", "terminatingDigit"}
	omittedObject = []string{"diversion", "stirShaken"}
	// sentWhenKnown are neither nullable nor required in the spec: a call
	// without a parent (or an INVITE without User-to-User) leaves them
	// out, since an empty string would claim a value.
	sentWhenKnown = []string{"parentCallId", "uui"}
)

type schema struct {
	Type        string             `yaml:"type"`
	Ref         string             `yaml:"$ref"`
	Nullable    bool               `yaml:"nullable"`
	Description string             `yaml:"description"`
	Properties  map[string]*schema `yaml:"properties"`
}

func loadSchemas(t *testing.T) map[string]*schema {
	t.Helper()
	data, err := os.ReadFile(specPath)
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("the Voice API spec is required in CI: %v", err)
		}
		t.Skipf("Voice API spec not found: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]*schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	return doc.Components.Schemas
}

type jsonField struct {
	name     string
	optional bool
	typ      reflect.Type
}

func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("json")
		if f.Anonymous && !ok {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, jsonField{name: name, optional: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero"), typ: f.Type})
	}
	return out
}

func TestEventsMatchSpec(t *testing.T) {
	schemas := loadSchemas(t)
	for name, ev := range eventSchemas {
		t.Run(name, func(t *testing.T) {
			sc, ok := schemas[name]
			if !ok {
				t.Fatalf("schema %s not in spec", name)
			}
			fields := jsonFields(reflect.TypeOf(ev).Elem())
			got := map[string]jsonField{}
			for _, f := range fields {
				if _, dup := got[f.name]; dup {
					t.Errorf("duplicate JSON field %s", f.name)
				}
				got[f.name] = f
			}
			for prop, ps := range sc.Properties {
				f, ok := got[prop]
				if !ok {
					t.Errorf("spec field %s has no JSON tag", prop)
					continue
				}
				def := ps
				if ps.Ref != "" {
					def = schemas[strings.TrimPrefix(ps.Ref, "#/components/schemas/")]
				}
				if def == nil {
					t.Fatalf("%s: unresolved %s", prop, ps.Ref)
				}
				wantOptional := def.Nullable || strings.HasPrefix(def.Description, "(optional)")
				switch {
				case slices.Contains(alwaysSent, prop):
					wantOptional = false
				case slices.Contains(omittedObject, prop), slices.Contains(sentWhenKnown, prop):
					wantOptional = true
				}
				if f.optional != wantOptional {
					t.Errorf("field %s: omitempty = %v, spec says optional = %v", prop, f.optional, wantOptional)
				}
				checkType(t, name, prop, def.Type, f.typ)
			}
			for n := range got {
				if _, ok := sc.Properties[n]; !ok {
					t.Errorf("JSON tag %s is not in the spec", n)
				}
			}
		})
	}
}

func checkType(t *testing.T, schemaName, prop, specType string, typ reflect.Type) {
	t.Helper()
	var ok bool
	switch specType {
	case "string":
		ok = typ.Kind() == reflect.String || typ == reflect.TypeFor[Time]()
	case "integer":
		ok = typ.Kind() == reflect.Int
	case "object":
		ok = typ.Kind() == reflect.Pointer && typ.Elem().Kind() == reflect.Struct
	default:
		ok = true
	}
	if !ok {
		t.Errorf("field %s: Go type %s does not fit spec type %s", prop, typ, specType)
	}
}

func TestEventFillAndJSON(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	info := &CallInfo{AccountID: "9900000", ApplicationID: "app-1", From: "+15551110000", To: "+15552220000",
		Direction: "inbound", CallID: "c-1", CallURL: "http://h/api/v2/accounts/9900000/calls/c-1",
		StartTime: start, AnswerTime: start.Add(time.Second), Tag: "sticky"}
	ev := &GatherEvent{Digits: "", TerminatingDigit: "#"}
	ev.Fill(info)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"eventType": "gather", "accountId": "9900000", "applicationId": "app-1", "from": "+15551110000", "to": "+15552220000",
		"direction": "inbound", "callId": "c-1", "callUrl": info.CallURL, "startTime": "2026-01-02T03:04:05.006Z",
		"answerTime": "2026-01-02T03:04:06.006Z", "digits": "", "terminatingDigit": "#", "tag": "sticky",
		"transferCallerId": "", "transferTo": "",
	}
	delete(m, "eventTime")
	if !reflect.DeepEqual(m, want) {
		t.Errorf("JSON\n got %v\nwant %v", m, want)
	}
	if ev.Type() != EventGather || ev.Common().EventTime.IsZero() {
		t.Errorf("type %s, eventTime %v", ev.Type(), ev.Common().EventTime)
	}

	// Fields the interpreter set are kept; the rest come from the call.
	rc := &RecordCompleteEvent{CallEvent: CallEvent{StartTime: At(start.Add(time.Minute))}}
	rc.Fill(info)
	if !rc.StartTime.Equal(start.Add(time.Minute)) || rc.CallID != "c-1" {
		t.Errorf("RecordCompleteEvent = %+v", rc)
	}

	// An unanswered call's disconnect leaves answerTime and tag out.
	d := &DisconnectEvent{Cause: CauseInvalidBXML, ErrorMessage: "Gathr: unknown verb"}
	d.Fill(&CallInfo{CallID: "c-2", StartTime: start, EndTime: start})
	b, _ = json.Marshal(d)
	for _, absent := range []string{"answerTime", "tag", "enqueuedTime", "errorId"} {
		if strings.Contains(string(b), `"`+absent+`"`) {
			t.Errorf("%s present in %s", absent, b)
		}
	}
	var back DisconnectEvent
	if err := json.Unmarshal(b, &back); err != nil || !back.EndTime.Equal(start) || back.Cause != CauseInvalidBXML {
		t.Errorf("unmarshal: %+v %v", back, err)
	}
}

func TestEventTypesAndExpectsBXML(t *testing.T) {
	for name, ev := range eventSchemas {
		ev.Fill(&CallInfo{})
		if ev.Common().EventType != ev.Type() {
			t.Errorf("%s: eventType %q after Fill, Type %q", name, ev.Common().EventType, ev.Type())
		}
	}
	for _, et := range []EventType{EventDisconnect, EventDtmf, EventRecordingAvailable, EventTransferDisconnect} {
		if et.ExpectsBXML() {
			t.Errorf("%s expects BXML", et)
		}
	}
	for _, et := range []EventType{EventInitiate, EventAnswer, EventGather, EventRedirect, EventTransferAnswer, EventTransferComplete, EventRecordComplete} {
		if !et.ExpectsBXML() {
			t.Errorf("%s does not expect BXML", et)
		}
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "PT0S",
		13670 * time.Millisecond: "PT13.67S",
		62500 * time.Millisecond: "PT1M2.5S",
		time.Hour:                "PT1H",
		-time.Second:             "PT0S",
	} {
		if got := ISODuration(d); got != want {
			t.Errorf("ISODuration(%v) = %q, want %q", d, got, want)
		}
	}
}
