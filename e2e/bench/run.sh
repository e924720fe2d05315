#!/usr/bin/env bash
# Benchmarks wasmvoice against Kamailio with sipp on 127.0.0.1 and prints a
# table. Every load is bounded (fixed rate x fixed count). Not part of
# `go test`. Usage, from the repository root:
#
#   e2e/bench/run.sh                       # defaults below
#   OPTIONS_RATE=3000 CALL_RATE=500 DURATION=15 REPEATS=3 RTP_CALLS=100 e2e/bench/run.sh
#
# Needs: go, sipp (sip-tester), kamailio, curl, taskset; 2+ CPUs for pinning
# (sipp on CPU 0, the server on CPU 1 with GOMAXPROCS=1).
set -euo pipefail

OPTIONS_RATE=${OPTIONS_RATE:-2000}   # OPTIONS per second
CALL_RATE=${CALL_RATE:-300}          # digest call setups per second
DURATION=${DURATION:-15}             # seconds per load run
REPEATS=${REPEATS:-3}                # runs per load (clean = all clean)
RTP_CALLS=${RTP_CALLS:-100}          # concurrent calls with RTP both ways
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/wasmvoice-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}" $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

for t in go sipp kamailio curl taskset nstat; do
	command -v "$t" >/dev/null || { echo "bench: $t is required" >&2; exit 1; }
done
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# cpu_ticks PID: utime+stime of PID and its direct children (Kamailio's workers).
cpu_ticks() {
	local total=0 p
	for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ -r /proc/"$p"/stat ] || continue
		total=$((total + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}')))
	done
	echo "$total"
}
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/"$1"/status; }
rcvbuf_errors() { nstat -az UdpRcvbufErrors 2>/dev/null | awk '/UdpRcvbufErrors/ {print $2}'; }

# stat_field CSV NAME: the last value of a column of sipp's -trace_stat file.
stat_field() {
	awk -F';' -v name="$2" 'NR==1 {for (i=1;i<=NF;i++) if ($i==name) c=i; next} {v=$c} END {print v+0}' "$1"
}

# load NAME PID TARGET SCENARIO RATE [sipp args...]: one bounded sipp run at
# a fixed rate; prints "ok failed retrans cpu_us_per_op rate_achieved rcvbuf_errors".
load() {
	local name=$1 pid=$2 target=$3 sf=$4 rate=$5; shift 5
	local n=$((rate * DURATION)) dir="$work/$name"
	mkdir -p "$dir"
	local t0 e0 s0 s1 e1 t1
	t0=$(cpu_ticks "$pid"); e0=$(rcvbuf_errors); s0=$(date +%s.%N)
	(cd "$dir" && taskset -c "$LOAD_CPU" sipp -sf "$sf" -r "$rate" -m "$n" -l $((rate * 4)) -nostdin \
		-t u1 -i 127.0.0.1 -p "$(free_port)" -buff_size 4194304 -timeout $((DURATION * 3))s \
		-trace_stat -stf stat.csv -fd 1 -trace_err -error_file err.log "$@" "$target" >sipp.out 2>&1) || true
	s1=$(date +%s.%N); t1=$(cpu_ticks "$pid"); e1=$(rcvbuf_errors)
	local ok failed retrans
	ok=$(stat_field "$dir/stat.csv" 'SuccessfulCall(C)')
	failed=$(stat_field "$dir/stat.csv" 'FailedCall(C)')
	retrans=$(stat_field "$dir/stat.csv" 'Retransmissions(C)')
	awk -v ok="$ok" -v f="$failed" -v r="$retrans" -v dt=$((t1 - t0)) -v hz="$hz" -v s0="$s0" -v s1="$s1" -v e=$((e1 - e0)) \
		'BEGIN {printf "%d %d %d %.1f %.0f %d\n", ok, f, r, (ok ? dt * 1e6 / hz / ok : 0), ok / (s1 - s0), e}'
}

# repeat LABEL ...load args: REPEATS runs; prints the median CPU/op, the
# lowest achieved rate, totals of failures and retransmissions.
repeat_load() {
	local label=$1; shift
	local i lines=""
	for i in $(seq "$REPEATS"); do
		lines+="$(load "$label-$i" "$@")"$'\n'
	done
	local median
	median=$(printf '%s' "$lines" | awk '{print $4}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%s' "$lines" | awk -v m="$median" '{ok+=$1; f+=$2; r+=$3; e+=$6; if (NR==1 || $5<rate) rate=$5}
		END {printf "%.1f %.0f %d %d %d %d\n", m, rate, ok, f, r, e}'
}

log "building wasmvoice and the webhook in $work"
(cd "$repo" && go build -o "$work/wasmvoice" ./cmd/wasmvoice && go build -o "$work/hook" ./e2e/bench/hook)

# --- wasmvoice -------------------------------------------------------------
http_port=$(free_port); sip_port=$(free_port); pprof_port=$(free_port)
creds=$("$work/wasmvoice" credentials create --data-dir "$work/data" --json)
jget() { python3 -c 'import json,sys;print(json.load(sys.stdin)'"$1"')'; }
account=$(echo "$creds" | jget '["accountId"]')
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/wasmvoice" --data-dir "$work/data" \
	--http-addr 127.0.0.1:"$http_port" --sip-addr 127.0.0.1:"$sip_port" --sip-domain 127.0.0.1 \
	--media-ip 127.0.0.1 --rtp-ports 30000-39998 --sip-digest-algorithms MD5 \
	--pprof-addr 127.0.0.1:"$pprof_port" --log-level warn >"$work/server.log" 2>&1 &
wv=$!; pids+=("$wv")
api=http://127.0.0.1:$http_port
for _ in $(seq 100); do curl -sf "$api/readyz" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -u "$(echo "$creds" | jget '["clientId"]'):$(echo "$creds" | jget '["clientSecret"]')" \
	-d grant_type=client_credentials "$api/api/v1/oauth2/token" | jget '["access_token"]')

# app BXML: a voice application whose webhook answers /initiate with BXML;
# prints "applicationId password".
app() {
	local port_file="$work/hook.$RANDOM.port"
	"$work/hook" -port-file "$port_file" -initiate "$1" 2>>"$work/hook.log" &
	echo "$!" >>"$work/pids" # app runs in a subshell: cleanup reads this file
	for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
	local hook=http://127.0.0.1:$(cat "$port_file")
	local id
	id=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d "{\"applicationName\":\"bench\",\"callInitiatedCallbackUrl\":\"$hook/initiate\",\"callStatusCallbackUrl\":\"$hook/status\"}" \
		"$api/v2/accounts/$account/voice-applications" | jget '["data"]["applicationId"]')
	local pw
	pw=$(curl -sf -X PATCH -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"inboundSipCallsEnabled":true,"passwordAuthEnabled":true}' \
		"$api/v2/accounts/$account/voice-applications/$id" | jget '["data"]["sipAuthPassword"]')
	echo "$id $pw"
}

read -r app_id app_pw < <(app '<Response><Pause duration="5"/></Response>')

# --- Kamailio --------------------------------------------------------------
kam_port=$(free_port)
kam_pw=bench-$RANDOM
taskset -c "$SERVER_CPU" kamailio -DD -E -f "$here/kamailio.cfg" -P "$work/kamailio.pid" -Y "$work" \
	-A "LISTEN=udp:127.0.0.1:$kam_port" -A "PASSWORD=\"$kam_pw\"" >"$work/kamailio.log" 2>&1 &
kam=$!; pids+=("$kam")
sleep 1

ours_opt=$(repeat_load options "$wv" "127.0.0.1:$sip_port" "$here/sipp/options.xml" "$OPTIONS_RATE")
kam_opt=$(repeat_load kam-options "$kam" "127.0.0.1:$kam_port" "$here/sipp/options.xml" "$OPTIONS_RATE")

# A CPU profile of our server during one extra call-setup run.
curl -sf -o "$work/calls.pprof" "http://127.0.0.1:$pprof_port/debug/pprof/profile?seconds=$((DURATION - 2))" &
prof=$!
load calls-profiled "$wv" "127.0.0.1:$sip_port" "$here/sipp/call.xml" "$CALL_RATE" -s "$app_id" -au "$app_id" -ap "$app_pw" >/dev/null
wait "$prof" || true
ours_call=$(repeat_load calls "$wv" "127.0.0.1:$sip_port" "$here/sipp/call.xml" "$CALL_RATE" -s "$app_id" -au "$app_id" -ap "$app_pw")
kam_call=$(repeat_load kam-calls "$kam" "127.0.0.1:$kam_port" "$here/sipp/call.xml" "$CALL_RATE" -s bench -au bench -ap "$kam_pw")

# --- concurrent calls with RTP relayed both ways ---------------------------
uas_port=$(free_port)
(cd "$work" && taskset -c "$LOAD_CPU" sipp -sf "$here/sipp/uas_echo.xml" -rtp_echo -t u1 -i 127.0.0.1 -p "$uas_port" \
	-mp 20000 -buff_size 4194304 -nostdin -bg >/dev/null 2>&1) || true
uas_pid=$(pgrep -n -f "sipp -sf $here/sipp/uas_echo.xml" || true)
[ -n "$uas_pid" ] && pids+=("$uas_pid")
read -r rtp_id rtp_pw < <(app "<Response><Transfer><SipUri>sip:echo@127.0.0.1:$uas_port</SipUri></Transfer></Response>")
metric() { curl -sf "$api/metrics" | awk -v m="$1" '$1==m {s+=$2} END {print s+0}'; }
rss0=$(rss_kb "$wv"); relayed0=$(metric wasmvoice_media_packets_relayed_total); dropped0=$(metric wasmvoice_media_packets_dropped_total)
t0=$(cpu_ticks "$wv")
mkdir -p "$work/rtp"
(cd "$work/rtp" && taskset -c "$LOAD_CPU" sipp -sf "$here/sipp/rtp_call.xml" -r "$RTP_CALLS" -rp 1000 -m "$RTP_CALLS" -l "$RTP_CALLS" \
	-t u1 -i 127.0.0.1 -p "$(free_port)" -mp 24000 -buff_size 4194304 -nostdin -timeout 60s \
	-trace_stat -stf stat.csv -fd 1 -s "$rtp_id" -au "$rtp_id" -ap "$rtp_pw" "127.0.0.1:$sip_port" >sipp.out 2>&1) &
rtp_sipp=$!
sleep 5 # mid-call: every call set up, audio flowing
live=$(curl -sf "$api/metrics" | awk '$1=="wasmvoice_media_sessions_active" {print $2+0}')
rss1=$(rss_kb "$wv")
wait "$rtp_sipp" || true
t1=$(cpu_ticks "$wv")
sleep 1
relayed=$(( $(metric wasmvoice_media_packets_relayed_total) - relayed0 ))
dropped=$(( $(metric wasmvoice_media_packets_dropped_total) - dropped0 ))
rtp_ok=$(stat_field "$work/rtp/stat.csv" 'SuccessfulCall(C)')
rtp_failed=$(stat_field "$work/rtp/stat.csv" 'FailedCall(C)')
pcap_packets=$(python3 -c '
import struct,sys
f=open("/usr/share/sip-tester/g711a.pcap","rb").read(); i=24; n=0
while i+16<=len(f):
    l=struct.unpack("<I",f[i+8:i+12])[0]; i+=16+l; n+=1
print(n)')
expected=$((pcap_packets * RTP_CALLS * 2))

# --- report ----------------------------------------------------------------
cores=$(nproc)
echo
echo "wasmvoice vs Kamailio $(kamailio -v | awk 'NR==1 {print $3}'), $(date -u +%Y-%m-%d), $cores cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "sipp on CPU $LOAD_CPU; servers on CPU $SERVER_CPU (wasmvoice GOMAXPROCS=1; Kamailio 2 workers); ${DURATION}s x $REPEATS runs per load"
echo
printf '%-62s %14s %14s %8s\n' "load (fixed rate)" "wasmvoice" "Kamailio" "ratio"
row() { # label ours kam (fields: cpu rate ok failed retrans rcvbuf)
	read -r oc or ook of orr oe <<<"$2"; read -r kc kr kok kf krr ke <<<"$3"
	printf '%-62s %11.1f us %11.1f us %7.2fx\n' "$1: server CPU per op" "$oc" "$kc" "$(awk -v a="$oc" -v b="$kc" 'BEGIN {print (b ? a / b : 0)}')"
	printf '%-62s %12s/s %12s/s %8s\n' "$1: achieved rate (lowest run)" "$or" "$kr" ""
	printf '%-62s %14s %14s\n' "$1: ok / failed / retrans" "$ook/$of/$orr" "$kok/$kf/$krr"
	printf '%-62s %14s %14s\n' "$1: clean (0 failed, 0 retrans)" "$([ "$of$orr" = 00 ] && echo yes || echo no)" "$([ "$kf$krr" = 00 ] && echo yes || echo no)"
}
row "OPTIONS @${OPTIONS_RATE}/s" "$ours_opt" "$kam_opt"
row "digest call setup @${CALL_RATE}/s (webhook)" "$ours_call" "$kam_call"
echo "digest call setup from a Wasm module: not measured (module-bound applications are not in the API yet)"
echo
echo "media: $RTP_CALLS concurrent calls, caller -> wasmvoice -> transfer -> sipp rtp_echo, G.711 A-law both ways"
printf '  calls ok/failed: %s/%s; live calls at mid-call: %s\n' "$rtp_ok" "$rtp_failed" "${live:-?}"
printf '  packets relayed: %d of %d sent by the caller and the echo (%.2f%% not relayed); dropped by the relay: %d\n' \
	"$relayed" "$expected" "$(awk -v r="$relayed" -v e="$expected" 'BEGIN {print (e ? (e - r) * 100 / e : 0)}')" "$dropped"
printf '  server CPU per relayed packet: %.1f us (whole call incl. signalling)\n' "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v r="$relayed" 'BEGIN {print (r ? d * 1e6 / hz / r : 0)}')"
printf '  memory per live call: %.0f KiB (RSS %d -> %d KiB over %s calls)\n' \
	"$(awk -v a="$rss0" -v b="$rss1" -v n="${live:-$RTP_CALLS}" 'BEGIN {print (n ? (b - a) / n : 0)}')" "$rss0" "$rss1" "${live:-$RTP_CALLS}"
echo "  added latency: not measured (sipp does not timestamp echoed RTP)"
echo
echo "top of the CPU profile of wasmvoice during digest call setups (go tool pprof -top):"
go tool pprof -top -nodecount=15 "$work/wasmvoice" "$work/calls.pprof" 2>/dev/null | sed -n '1,22p' | sed 's/^/  /'
echo
echo "raw results, sipp logs and the profile: $work"
