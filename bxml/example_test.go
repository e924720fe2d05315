package bxml_test

import (
	"fmt"

	"github.com/wasmvoice/wasmvoice/bxml"
)

func ExampleNewResponse() {
	menu := bxml.NewGather("/gather", bxml.NewSpeakSentence("Press 1 for sales."))
	menu.MaxDigits = 1
	doc := bxml.NewResponse(menu, bxml.NewHangup())
	out, err := doc.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><Response><Gather gatherUrl="/gather" maxDigits="1"><SpeakSentence>Press 1 for sales.</SpeakSentence></Gather><Hangup/></Response>
}

func ExampleParse() {
	_, err := bxml.Parse([]byte("<Response>\n  <Gather maxDigits=\"60\"/>\n</Response>"))
	fmt.Println(err)
	// Output:
	// Gather: attribute maxDigits: must be between 1 and 50 (line 2)
}
