package media

import "testing"

// benchTranscode prices what the relay does per 20 ms packet between legs
// that share no codec: decode the packet to 8 kHz PCM, encode it in the
// other codec. The packets are a second of a two-tone signal.
func benchTranscode(b *testing.B, from, to Codec) {
	if from.sameFormat(CodecOpus) || to.sameFormat(CodecOpus) {
		needOpus(b)
	}
	if from.sameFormat(CodecG729) || to.sameFormat(CodecG729) {
		needG729(b)
	}
	src := mustEncoder(b, from)
	var pkts [][]byte
	for i := range 50 {
		frame := sine8k(440, frameSamples, i*frameSamples, 6000)
		for j, v := range sine8k(1300, frameSamples, i*frameSamples, 3000) {
			frame[j] += v
		}
		p, err := src.Encode(nil, frame)
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	dec, enc := mustDecoder(b, from), mustEncoder(b, to)
	pcm := make([]int16, 0, maxPacket)
	out := make([]byte, 0, maxPacket)
	b.ReportAllocs()
	i := 0
	cpu := cpuTime() // load_test.go; on a shared machine CPU per op says more than ns/op
	for b.Loop() {
		var err error
		if pcm, err = dec.Decode(pcm[:0], pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
		if out, err = enc.Encode(out[:0], pcm); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

func BenchmarkTranscodePCMUToOpus(b *testing.B) { benchTranscode(b, CodecPCMU, CodecOpus) }
func BenchmarkTranscodeOpusToPCMU(b *testing.B) { benchTranscode(b, CodecOpus, CodecPCMU) }
func BenchmarkTranscodePCMUToG722(b *testing.B) { benchTranscode(b, CodecPCMU, CodecG722) }
func BenchmarkTranscodeG722ToPCMU(b *testing.B) { benchTranscode(b, CodecG722, CodecPCMU) }
func BenchmarkTranscodePCMUToG729(b *testing.B) { benchTranscode(b, CodecPCMU, CodecG729) }
func BenchmarkTranscodeG729ToPCMU(b *testing.B) { benchTranscode(b, CodecG729, CodecPCMU) }

// The same through a bridged pair of legs on 127.0.0.1 (benchRelay), the
// sockets included.
func BenchmarkRelayTranscodePCMUToOpus(b *testing.B) {
	needOpus(b)
	benchRelay(b, false, false, "0", "111 opus/48000/2")
}
func BenchmarkRelayTranscodePCMUToG722(b *testing.B) { benchRelay(b, false, false, "0", "9") }
