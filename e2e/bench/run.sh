#!/usr/bin/env bash
# Benchmarks wasmvoice against Kamailio on 127.0.0.1 and prints a table.
# Every load is bounded (fixed rate x fixed count, or fixed calls x fixed
# hold). Not part of `go test`. From the repository root:
#
#   e2e/bench/run.sh                  # defaults below (about 10 minutes)
#   DURATION=5 REPEATS=1 RTP_CALLS=200 TWO_CORES=0 e2e/bench/run.sh   # a quick look
#   SOAK_MINUTES=30 e2e/bench/run.sh  # adds the soak (load 5): 30 more minutes
#
# Loads (sipp for SIP, e2e/bench/rtpload for media):
#   1. OPTIONS keepalive                       wasmvoice and Kamailio
#   2. digest call setup INVITE 407 INVITE 200 ACK BYE, the application
#      answering <SpeakSentence>..</SpeakSentence><Hangup/> from a loopback
#      webhook, then from a Wasm module      wasmvoice; Kamailio stateless
#      and the same from a webhook answering BXML that plays nothing (2c),
#      and the webhook's sentence held MEDIA_HOLD_MS by sipp (2d), which
#      split a call's cost into signalling + application (2c: sipp's BYE
#      follows its ACK at once, so 2a's sentence is cut too) and media (2d
#      minus 2c: the packets a call held that long sends)
#   3. for each count in RTP_CALLS, that many concurrent calls, each
#      transferred back to rtpload, G.711 20 ms packets both ways through
#      the relay: CPU per packet, loss and added latency
#   4. memory per live call: MEM_CALLS answered calls held open
#   5. the soak (SOAK_MINUTES > 0): SOAK_RATE calls/s, each held
#      SOAK_HOLD_MS, for SOAK_MINUTES; heap, RSS and goroutines sampled
#      every SOAK_SAMPLE seconds (soak.csv)
# With TWO_CORES=1, loads 1 and 2a run again against a second wasmvoice on
# both cores (GOMAXPROCS=2, no pinning): the whole node's capacity.
#
# The main figure is server CPU per operation at a fixed rate (utime+stime
# from /proc), as /work/shared/BENCHMARKING.md explains; "capacity" is one
# core divided by it. Pinning: load generators on LOAD_CPU, the servers on
# SERVER_CPU (wasmvoice with GOMAXPROCS=1). With PROFILE=1 the first run of
# every wasmvoice load is CPU-profiled (NAME.pprof next to the results) and
# its allocations too (NAME.allocs.pprof).
#
# DATABASE_URL=postgres://... runs every wasmvoice on PostgreSQL instead of
# SQLite in its data directory: each server gets a fresh schema of its own
# in that database (created with psql, dropped first if a previous run left
# it). The CPU figures are wasmvoice's; PostgreSQL's own processes are not
# pinned, and when the server is local (its data directory readable) their
# CPU per call is reported beside ours for loads 2a-2c. A throwaway server:
# eval "$(.ci/postgres.sh start)"; DATABASE_URL=$WASMVOICE_TEST_POSTGRES_URL
# e2e/bench/run.sh
#
# Needs: go, sipp (sip-tester), kamailio, espeak-ng, curl, taskset, nstat, python3;
# psql (postgresql-client) with DATABASE_URL.
set -euo pipefail

OPTIONS_RATE=${OPTIONS_RATE:-3000}  # OPTIONS per second
CALL_RATE=${CALL_RATE:-300}         # digest call setups per second
DURATION=${DURATION:-15}            # seconds per sipp load run
REPEATS=${REPEATS:-3}               # runs per load (clean = every run clean)
MEDIA_HOLD_MS=${MEDIA_HOLD_MS:-2000} # load 2d: how long sipp holds each call before its BYE
RTP_CALLS=${RTP_CALLS:-"200 1000 2000"}  # concurrent calls with RTP both ways, one run per count
RTP_RATE=${RTP_RATE:-100}           # their setups per second
RTP_HOLD=${RTP_HOLD:-15}            # seconds of RTP once every call is up
MEM_CALLS=${MEM_CALLS:-500}         # live calls for the memory figure
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
PROFILE=${PROFILE:-1}               # CPU-profile the first run of every wasmvoice load
TWO_CORES=${TWO_CORES:-1}           # loads 1 and 2a again on both cores (GOMAXPROCS=2, no pinning)
SOAK_MINUTES=${SOAK_MINUTES:-0}     # the soak's length (0: no soak)
SOAK_RATE=${SOAK_RATE:-200}         # soak calls per second
SOAK_HOLD_MS=${SOAK_HOLD_MS:-1000}  # how long each soak call is held (rate x hold = live calls)
SOAK_SAMPLE=${SOAK_SAMPLE:-30}      # seconds between the soak's memory samples
RAMP=${RAMP-"200 300 400 500 600 800"}  # call-setup rates tried for the highest clean one ("": skip)
RAMP_DURATION=${RAMP_DURATION:-10}  # seconds per ramp step
MEMORY_ONLY=${MEMORY_ONLY:-0}       # 1: load 4 only (its goroutine and heap profiles kept)
# The load generators' address is trusted, as a trunk's would be (the flood
# guard would ban sipp, the per-source cap stop the memory load), and the
# concurrent-call caps (500 per application, 1000 per account by default) are
# lifted: the loads measure capacity, and the 1,000 and 2,000-call relay runs
# are past them. Builds older than the flags need WV_ARGS="".
WV_ARGS=${WV_ARGS-"--sip-trusted-cidrs 127.0.0.0/8 --max-calls-per-application 0 --max-calls-per-account 0"}
DATABASE_URL=${DATABASE_URL:-}      # empty: SQLite; postgres://...: PostgreSQL (see above)

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/wasmvoice-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}" $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

for t in go sipp kamailio espeak-ng curl taskset nstat python3; do
	command -v "$t" >/dev/null || { echo "bench: $t is required" >&2; exit 1; }
done
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
jget() { python3 -c 'import json,sys;print(json.load(sys.stdin)'"$1"')'; }

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
# pg_ticks: utime+stime of PostgreSQL's postmaster and its processes (the
# backends serving wasmvoice among them) when DATABASE_URL names a cluster
# on this machine whose data directory we can read; 0 otherwise.
pg_pid=""
if [ -n "$DATABASE_URL" ]; then
	pg_dir=$(psql -tAq "$DATABASE_URL" -c 'SHOW data_directory' 2>/dev/null || true)
	[ -r "$pg_dir/postmaster.pid" ] && pg_pid=$(head -n1 "$pg_dir/postmaster.pid")
fi
pg_ticks() { if [ -n "$pg_pid" ]; then cpu_ticks "$pg_pid"; else echo 0; fi; }
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
	local t0 e0 s0 s1 e1 t1 prof=""
	if [ "${PROF:-0}" = 1 ] && [ "$PROFILE" = 1 ] && [ "$pid" = "$wv" ]; then
		# A CPU profile of the sipp run's middle (past its first second, done before
		# its last), and what the same window allocated (-sample_index=alloc_space).
		(
			sleep 1
			secs=$((DURATION > 3 ? DURATION - 2 : 1))
			curl -sf -o "$work/$name.pprof" "http://127.0.0.1:$pprof_port/debug/pprof/profile?seconds=$secs" &
			curl -sf -o "$work/$name.allocs.pprof" "http://127.0.0.1:$pprof_port/debug/pprof/allocs?seconds=$secs" &
			wait
		) &
		prof=$!
	fi
	t0=$(cpu_ticks "$pid"); e0=$(rcvbuf_errors); s0=$(date +%s.%N); p0=$(pg_ticks)
	(cd "$dir" && ${LOAD_CPU:+taskset -c "$LOAD_CPU"} sipp -sf "$sf" -r "$rate" -m "$n" -l $((rate * 4)) -nostdin \
		-t u1 -i 127.0.0.1 -p "$(free_port)" -mp "$(free_port)" -buff_size 4194304 -timeout $((DURATION * 3))s \
		-trace_stat -stf stat.csv -fd 1 -trace_err -error_file err.log "$@" "$target" >sipp.out 2>&1) || true
	s1=$(date +%s.%N); t1=$(cpu_ticks "$pid"); e1=$(rcvbuf_errors); p1=$(pg_ticks)
	[ -z "$prof" ] || wait "$prof" || true
	local ok failed retrans
	ok=$(stat_field "$dir/stat.csv" 'SuccessfulCall(C)')
	failed=$(stat_field "$dir/stat.csv" 'FailedCall(C)')
	retrans=$(stat_field "$dir/stat.csv" 'Retransmissions(C)')
	awk -v ok="$ok" -v f="$failed" -v r="$retrans" -v dt=$((t1 - t0)) -v hz="$hz" -v s0="$s0" -v s1="$s1" -v e=$((e1 - e0)) -v pg=$((p1 - p0)) \
		'BEGIN {printf "%d %d %d %.1f %.0f %d %.1f\n", ok, f, r, (ok ? dt * 1e6 / hz / ok : 0), ok / (s1 - s0), e, (ok ? pg * 1e6 / hz / ok : 0)}'
}

# repeat_load LABEL ...load args: REPEATS runs; prints the median CPU/op,
# the lowest achieved rate, totals of ok, failures, retransmissions and
# receive-buffer drops.
repeat_load() {
	local label=$1; shift
	local i lines=""
	for i in $(seq "$REPEATS"); do
		lines+="$(PROF=$((i == 1)) load "$label-$i" "$@")"$'\n'
		log "$label run $i: $(tail -n1 <<<"${lines%$'\n'}")"
	done
	summarize "$lines"
}

# summarize LINES: load's lines -> the median CPU/op, the lowest achieved
# rate, totals of ok, failures, retransmissions and receive-buffer drops.
summarize() {
	local median
	median=$(printf '%s' "$1" | awk '{print $4}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	pg=$(printf '%s' "$1" | awk '{print $7}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%s' "$1" | awk -v m="$median" -v pg="$pg" '{ok+=$1; f+=$2; r+=$3; e+=$6; if (NR==1 || $5<rate) rate=$5}
		END {printf "%.1f %.0f %d %d %d %d %.1f\n", m, rate, ok, f, r, e, pg}'
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# The commit the binaries are built from (the report comes much later, when
# the tree may have moved on).
built=$(cd "$repo" && { git rev-parse --short HEAD 2>/dev/null || echo '?'; } | tr -d '\n'; git diff --quiet HEAD 2>/dev/null || echo -n '+changes')
log "building wasmvoice $built, the webhook, rtpload and the Wasm module in $work"
(cd "$repo" && go build -o "$work/wasmvoice" ./cmd/wasmvoice && go build -o "$work/hook" ./e2e/bench/hook &&
	go build -o "$work/rtpload" ./e2e/bench/rtpload &&
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$work/bench.wasm" ./e2e/bench/module)
# The call flow of load 2, the same from the webhook and the module.
answer=$(sed -n 's/^const Answer = `\(.*\)`$/\1/p' "$here/module/main.go")
[ -n "$answer" ] || { echo "bench: no Answer in module/main.go" >&2; exit 1; }

# --- wasmvoice -------------------------------------------------------------
# bench_db NAME: a fresh schema wv_bench_NAME in DATABASE_URL's database;
# prints the URL that makes it the server's (search_path).
bench_db() {
	local schema=wv_bench_${1//-/_} sep='?'
	PGOPTIONS=--client-min-messages=warning psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" >&2
	case "$DATABASE_URL" in *\?*) sep='&' ;; esac
	echo "$DATABASE_URL${sep}search_path=$schema"
}
# start_wv NAME PROCS CPUS: a wasmvoice with GOMAXPROCS=PROCS on a fresh data
# directory, pinned to CPUS (a taskset list; "": not pinned); sets wv, api,
# account, token, sip_port and pprof_port for the loads that follow.
start_wv() {
	local name=$1 procs=$2 cpus=$3 http_port creds db=""
	http_port=$(free_port); sip_port=$(free_port); pprof_port=$(free_port)
	if [ -n "$DATABASE_URL" ]; then
		db=$(bench_db "$name")
	fi
	creds=$(WASMVOICE_DATABASE_URL=$db "$work/wasmvoice" credentials create --data-dir "$work/data-$name" --json)
	account=$(echo "$creds" | jget '["accountId"]')
	WASMVOICE_DATABASE_URL=$db GOMAXPROCS=$procs ${cpus:+taskset -c "$cpus"} "$work/wasmvoice" --data-dir "$work/data-$name" \
		--http-addr 127.0.0.1:"$http_port" --sip-addr 127.0.0.1:"$sip_port" --sip-domain 127.0.0.1 \
		--media-ip 127.0.0.1 --rtp-ports 30000-39998 --sip-digest-algorithms MD5 \
		--pprof-addr 127.0.0.1:"$pprof_port" --log-level warn \
		$WV_ARGS >"$work/server-$name.log" 2>&1 &
	wv=$!; pids+=("$wv")
	api=http://127.0.0.1:$http_port
	for _ in $(seq 100); do curl -sf "$api/readyz" >/dev/null && break; sleep 0.1; done
	token=$(curl -sf -u "$(echo "$creds" | jget '["clientId"]'):$(echo "$creds" | jget '["clientSecret"]')" \
		-d grant_type=client_credentials "$api/api/v1/oauth2/token" | jget '["access_token"]')
}
start_wv one-core 1 "$SERVER_CPU"
apicall() { # METHOD PATH [JSON]
	curl -sf -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"} "$api$2"
}
# metric NAME: the sum of a metric's series (every label set).
metric() { curl -sf "$api/metrics" | awk -v m="$1" '$1==m || index($1, m "{")==1 {s+=$2} END {printf "%.0f\n", s+0}'; }

# app BXML [MODULE_ID]: a voice application whose webhook answers /initiate
# with BXML (or, with MODULE_ID, whose call events go to that Wasm module);
# prints "applicationId password".
app() {
	local port_file="$work/hook.$RANDOM.port"
	"$work/hook" -port-file "$port_file" -initiate "$1" 2>>"$work/hook.log" &
	echo "$!" >>"$work/pids" # app runs in a subshell: cleanup reads this file
	for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
	local hook=http://127.0.0.1:$(cat "$port_file")
	local id pw patch='{"inboundSipCallsEnabled":true,"passwordAuthEnabled":true'
	# A module's application sends its call's status events to the module
	# alone: the webhook flow's two callbacks (initiate, disconnect) are the
	# module's two events, so both flows deliver the same events once.
	local status=",\"callStatusCallbackUrl\":\"$hook/status\""
	[ -n "${2:-}" ] && status=""
	id=$(apicall POST "/v2/accounts/$account/voice-applications" \
		"{\"applicationName\":\"bench\",\"callInitiatedCallbackUrl\":\"$hook/initiate\"$status}" |
		jget '["data"]["applicationId"]')
	[ -n "${2:-}" ] && patch+=",\"moduleId\":\"$2\",\"moduleEvents\":[\"call\"]"
	pw=$(apicall PATCH "/v2/accounts/$account/voice-applications/$id" "$patch}" | jget '["data"]["sipAuthPassword"]')
	echo "$id $pw"
}

# --- 4: memory per live call (first, on a fresh server) ---------------------
# heap?gc=1 runs a garbage collection first, so the figures are live data.
gc_live() { # live Go heap + goroutine stacks, bytes
	curl -sf -o /dev/null "http://127.0.0.1:$pprof_port/debug/pprof/heap?gc=1"
	echo $(($(metric go_memstats_heap_inuse_bytes) + $(metric go_memstats_stack_inuse_bytes)))
}
read -r mem_id mem_pw < <(app '<Response><Pause duration="60"/></Response>')
mem_rss0=$(rss_kb "$wv")
rm -f "$work/mem.ready"
taskset -c "$LOAD_CPU" "$work/rtpload" -target "127.0.0.1:$sip_port" -app "$mem_id" -password "$mem_pw" \
	-listen 127.0.0.1:"$(free_port)" -transfer=false -calls "$MEM_CALLS" -rate 100 -hold 8s -ready-file "$work/mem.ready" \
	>"$work/mem.json" 2>"$work/mem.log" &
mem=$!
for _ in $(seq 600); do [ -s "$work/mem.ready" ] || ! kill -0 "$mem" 2>/dev/null && break; sleep 0.1; done
sleep 2
mem_live=$(metric wasmvoice_media_sessions_active); mem_rss1=$(rss_kb "$wv"); mem_heap1=$(gc_live)
mem_goroutines=$(metric go_goroutines); mem_stack1=$(metric go_memstats_stack_inuse_bytes)
curl -sf -o "$work/mem-goroutines.txt" "http://127.0.0.1:$pprof_port/debug/pprof/goroutine?debug=1"
curl -sf -o "$work/mem-heap.pb.gz" "http://127.0.0.1:$pprof_port/debug/pprof/heap"
wait "$mem" || log "rtpload (memory) failed: $(tail -3 "$work/mem.log")"
sleep 2 # every call ended: what is left is the server without calls
mem_heap0=$(gc_live); mem_goroutines0=$(metric go_goroutines); mem_stack0=$(metric go_memstats_stack_inuse_bytes)
if [ "$MEMORY_ONLY" = 1 ]; then
	echo "memory: $MEM_CALLS calls, live media sessions $mem_live, goroutines $mem_goroutines ($mem_goroutines0 without calls)"
	printf '   per live call: %.1f KiB live Go heap + stacks (%.1f KiB stacks); %.1f KiB RSS; profiles in %s (mem-goroutines.txt, mem-heap.pb.gz)\n' \
		"$(awk -v a="$mem_heap0" -v b="$mem_heap1" -v n="$mem_live" 'BEGIN {print (n ? (b - a) / 1024 / n : 0)}')" \
		"$(awk -v a="$mem_stack0" -v b="$mem_stack1" -v n="$mem_live" 'BEGIN {print (n ? (b - a) / 1024 / n : 0)}')" \
		"$(awk -v a="$mem_rss0" -v b="$mem_rss1" -v n="$mem_live" 'BEGIN {print (n ? (b - a) / n : 0)}')" "$work"
	trap - EXIT; cleanup; exit 0
fi

read -r hook_id hook_pw < <(app "$answer")
# Load 2c: the same call from an application that plays nothing (answered,
# held by <Pause> until sipp's BYE): signalling + application alone.
nomedia='<Response><Pause duration="30"/></Response>'
read -r quiet_id quiet_pw < <(app "$nomedia")
# Load 2d: the webhook's sentence, then <Pause> until sipp's BYE, which comes
# MEDIA_HOLD_MS after its ACK: the whole sentence is played (the server's
# <Hangup/> would race sipp's BYE, so the sentence ends in a pause instead).
held=${answer/<Hangup\/>/<Pause duration=\"30\"\/>}
read -r held_id held_pw < <(app "$held")
module_id=$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/wasm' \
	--data-binary @"$work/bench.wasm" "$api/v2/accounts/$account/modules?name=bench" | jget '["data"]["moduleId"]')
# The module's application keeps its initiate webhook: the fallback if the
# module failed.
read -r wasm_id wasm_pw < <(app "$answer" "$module_id")

# --- Kamailio --------------------------------------------------------------
kam_port=$(free_port)
kam_pw=bench-$RANDOM
taskset -c "$SERVER_CPU" kamailio -DD -E -f "$here/kamailio.cfg" -P "$work/kamailio.pid" -Y "$work" \
	-A "LISTEN=udp:127.0.0.1:$kam_port" -A "PASSWORD=\"$kam_pw\"" >"$work/kamailio.log" 2>&1 &
kam=$!; pids+=("$kam")
sleep 1

# --- 1 and 2: sipp loads -----------------------------------------------------
call_args() { echo "-s $1 -au $1 -ap $2"; }
ours_opt=$(repeat_load options "$wv" "127.0.0.1:$sip_port" "$here/sipp/options.xml" "$OPTIONS_RATE")
kam_opt=$(repeat_load kam-options "$kam" "127.0.0.1:$kam_port" "$here/sipp/options.xml" "$OPTIONS_RATE")
# flow_run VAR NAME I ID PW [sipp args...]: run I of call flow NAME against
# application ID, its result line appended to the variable VAR.
flow_run() {
	local -n lines=$1
	local name=$2 i=$3 id=$4 pw=$5; shift 5
	lines+="$(PROF=$((i == 1)) load "calls-$name-$i" "$wv" "127.0.0.1:$sip_port" "$here/sipp/call.xml" "$CALL_RATE" $(call_args "$id" "$pw") "$@")"$'\n'
	log "calls-$name run $i: $(tail -n1 <<<"${lines%$'\n'}")"
}
# The flows' runs alternate: the call records pile up in the database as the
# runs go on, and no flow should get the emptiest one.
hook_lines="" wasm_lines="" quiet_lines="" held_lines=""
for i in $(seq "$REPEATS"); do
	flow_run hook_lines webhook "$i" "$hook_id" "$hook_pw"
	flow_run wasm_lines wasm "$i" "$wasm_id" "$wasm_pw"
	flow_run quiet_lines nomedia "$i" "$quiet_id" "$quiet_pw"
	flow_run held_lines held "$i" "$held_id" "$held_pw" -d "$MEDIA_HOLD_MS"
done
ours_hook=$(summarize "$hook_lines")
ours_wasm=$(summarize "$wasm_lines")
ours_quiet=$(summarize "$quiet_lines")
ours_held=$(summarize "$held_lines")
# The highest clean webhook call-setup rate: one run per step, up to the
# first with a failed call or a retransmission.
best_rate=0
for rate in $RAMP; do
	r=$(DURATION=$RAMP_DURATION load "ramp-$rate" "$wv" "127.0.0.1:$sip_port" "$here/sipp/call.xml" "$rate" $(call_args "$hook_id" "$hook_pw"))
	log "ramp $rate/s: $r"
	read -r rok rf rr _ rrate _ <<<"$r"
	# Clean, and sipp kept the rate (it holds back new calls when too many
	# are pending; the run's start and last calls cost it about a tenth).
	[ "$rf$rr" = 00 ] && [ "$rok" -gt 0 ] && [ $((rrate * 100)) -ge $((rate * 85)) ] || break
	best_rate=$rate
done
kam_call=$(repeat_load kam-calls "$kam" "127.0.0.1:$kam_port" "$here/sipp/call.xml" "$CALL_RATE" $(call_args bench "$kam_pw"))
kill "$kam" 2>/dev/null || true

calls_recorded=$(metric wasmvoice_calls_ended_total)

# --- 3: concurrent calls with RTP both ways through the relay ----------------
rtp_listen=127.0.0.1:$(free_port)
read -r rtp_id rtp_pw < <(app "<Response><Transfer><SipUri>sip:echo@$rtp_listen</SipUri></Transfer></Response>")
# relay_run N: N calls through the relay; prints the report's lines for it.
relay_run() {
	local n=$1 dir="$work/rtp-$1" t0 t1 r0 r1 live rss prof=""
	mkdir -p "$dir"
	taskset -c "$LOAD_CPU" "$work/rtpload" -target "127.0.0.1:$sip_port" -app "$rtp_id" -password "$rtp_pw" \
		-listen "$rtp_listen" -calls "$n" -rate "$RTP_RATE" -hold "${RTP_HOLD}s" -ready-file "$dir/ready" \
		>"$dir/rtp.json" 2>"$dir/rtp.log" &
	local rtp=$!
	for _ in $(seq 1200); do [ -s "$dir/ready" ] || ! kill -0 "$rtp" 2>/dev/null && break; sleep 0.1; done
	sleep 1
	t0=$(cpu_ticks "$wv"); live=$(metric wasmvoice_media_sessions_active); rss=$(rss_kb "$wv")
	r0=$(metric wasmvoice_media_packets_relayed_total)
	if [ "$PROFILE" = 1 ]; then
		curl -sf -o "$work/relay-$n.pprof" "http://127.0.0.1:$pprof_port/debug/pprof/profile?seconds=$((RTP_HOLD - 3))" &
		prof=$!
	fi
	sleep $((RTP_HOLD - 3))
	t1=$(cpu_ticks "$wv"); r1=$(metric wasmvoice_media_packets_relayed_total)
	[ -z "$prof" ] || wait "$prof" || true
	wait "$rtp" || log "rtpload ($n calls) failed: $(tail -3 "$dir/rtp.log")"
	local js
	js=$(cat "$dir/rtp.json" 2>/dev/null || echo '{}')
	rj() { echo "$js" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get(sys.argv[1],0))' "$1"; }
	echo "3. media: $(rj calls) calls (set up at ${RTP_RATE}/s), each transferred back to rtpload, G.711 20 ms packets both ways for ${RTP_HOLD}s"
	printf '   established %s, transferred %s, setup failures %s; live media sessions %s; server RSS %d KiB\n' \
		"$(rj established)" "$(rj transferred)" "$(rj setupFailures)" "$live" "$rss"
	printf '   packets sent %s, came out of the relay %s: loss %.3f%%\n' "$(rj sent)" "$(rj received)" "$(rj lossPct)"
	printf '   added latency (send -> relay -> receive, one clock): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n' \
		"$(rj latencyP50Ms)" "$(rj latencyP99Ms)" "$(rj latencyMaxMs)"
	printf '   server CPU per relayed packet: %.1f us (%d packets relayed in %ds; %.0f%% of one core)\n' \
		"$(awk -v d=$((t1 - t0)) -v hz="$hz" -v r=$((r1 - r0)) 'BEGIN {print (r ? d * 1e6 / hz / r : 0)}')" \
		$((r1 - r0)) $((RTP_HOLD - 3)) "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s=$((RTP_HOLD - 3)) 'BEGIN {print d * 100 / hz / s}')"
	# The calls end with rtpload; the next run starts on a quiet relay.
	for _ in $(seq 100); do [ "$(metric wasmvoice_media_sessions_active)" = 0 ] && break; sleep 0.2; done
}
relay_report=""
for n in $RTP_CALLS; do
	log "relay: $n calls"
	relay_report+="$(relay_run "$n")"$'\n'
done

# --- 5: the soak ------------------------------------------------------------
# Calls at SOAK_RATE held SOAK_HOLD_MS each, from the webhook application;
# a sample of live heap (after a forced GC), RSS, goroutines and live calls
# every SOAK_SAMPLE seconds.
soak_report=""
if [ "$SOAK_MINUTES" -gt 0 ]; then
	soak_dir="$work/soak"; mkdir -p "$soak_dir"
	echo "seconds,live_calls,heap_live_kib,rss_kib,goroutines,calls_ended" >"$work/soak.csv"
	n=$((SOAK_RATE * SOAK_MINUTES * 60))
	log "soak: $n calls at ${SOAK_RATE}/s held ${SOAK_HOLD_MS} ms ($SOAK_MINUTES minutes)"
	(cd "$soak_dir" && taskset -c "$LOAD_CPU" sipp -sf "$here/sipp/call.xml" -r "$SOAK_RATE" -m "$n" \
		-l $((SOAK_RATE * (SOAK_HOLD_MS / 1000 + 4))) -d "$SOAK_HOLD_MS" -nostdin -t u1 -i 127.0.0.1 \
		-p "$(free_port)" -mp "$(free_port)" -buff_size 4194304 -trace_stat -stf stat.csv -fd 5 \
		$(call_args "$hook_id" "$hook_pw") "127.0.0.1:$sip_port" >sipp.out 2>&1) &
	soak=$!
	soak_t0=$(date +%s)
	while kill -0 "$soak" 2>/dev/null; do
		echo "$(($(date +%s) - soak_t0)),$(metric wasmvoice_media_sessions_active),$(($(gc_live) / 1024)),$(rss_kb "$wv"),$(metric go_goroutines),$(metric wasmvoice_calls_ended_total)" >>"$work/soak.csv"
		sleep "$SOAK_SAMPLE"
	done
	wait "$soak" || true
	soak_report=$(python3 - "$work/soak.csv" "$soak_dir/stat.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
stat = list(csv.reader(open(sys.argv[2]), delimiter=';'))
ok = failed = 0
if len(stat) > 1:
    h = stat[0]; last = stat[-1]
    ok, failed = int(last[h.index('SuccessfulCall(C)')]), int(last[h.index('FailedCall(C)')])
print(f"5. soak: {ok} calls ok, {failed} failed; samples every row of soak.csv:")
print("   seconds  live  heap(KiB)  RSS(KiB)  goroutines")
for r in rows:
    print(f"   {r['seconds']:>7} {r['live_calls']:>5} {r['heap_live_kib']:>10} {r['rss_kib']:>9} {r['goroutines']:>11}")
warm = [r for r in rows if int(r['seconds']) >= 120]
if len(warm) >= 2:
    a, b = warm[0], warm[-1]
    print(f"   after warm-up (t>=120 s): heap {a['heap_live_kib']} -> {b['heap_live_kib']} KiB, RSS {a['rss_kib']} -> {b['rss_kib']} KiB")
PY
)
fi

# --- both cores: loads 1 and 2a on a second wasmvoice -------------------------
two_opt="" two_hook=""
if [ "$TWO_CORES" = 1 ]; then
	kill "$wv" 2>/dev/null || true
	wait "$wv" 2>/dev/null || true
	log "both cores: a second wasmvoice with GOMAXPROCS=2, not pinned"
	start_wv two-core 2 ""
	read -r hook_id hook_pw < <(app "$answer")
	two_opt=$(LOAD_CPU="" repeat_load two-options "$wv" "127.0.0.1:$sip_port" "$here/sipp/options.xml" "$OPTIONS_RATE")
	two_hook=$(LOAD_CPU="" repeat_load two-calls-webhook "$wv" "127.0.0.1:$sip_port" "$here/sipp/call.xml" "$CALL_RATE" $(call_args "$hook_id" "$hook_pw"))
fi

# --- report ----------------------------------------------------------------
cores=$(nproc)
echo
echo "wasmvoice $built vs Kamailio $(kamailio -v | awk 'NR==1 {print $3}'), $(date -u '+%Y-%m-%d %H:%M UTC'), $cores cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "machine load average (1/5/15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sipp/rtpload on CPU $LOAD_CPU; servers on CPU $SERVER_CPU (wasmvoice GOMAXPROCS=1; Kamailio 5.6 stateless, 2 workers); sipp loads ${DURATION}s x $REPEATS runs"
echo "wasmvoice store: $([ -n "$DATABASE_URL" ] && echo "PostgreSQL ($(psql -tAq "$DATABASE_URL" -c 'SHOW server_version')), its own CPU beside ours below" || echo SQLite)"
echo
printf '%-44s %13s %13s %13s %13s\n' "load (fixed rate)" "" "wasmvoice" "Kamailio" "ratio"
cap() { awk -v c="$1" 'BEGIN {printf "%.0f", (c > 0 ? 1e6 / c : 0)}'; }
row() { # label ours kam (fields: cpu rate ok failed retrans rcvbuf); kam may be "-"
	local oc or ook of orr oe kc=0 kr kok kf krr ke
	read -r oc or ook of orr oe <<<"$2"
	[ "$3" != - ] && read -r kc kr kok kf krr ke <<<"$3"
	local ratio=""
	[ "$3" != - ] && ratio=$(awk -v a="$oc" -v b="$kc" 'BEGIN {printf "%.2f", (a > 0 ? b / a : 0)}')
	printf '%-44s %13s %10.1f us %10s %13s\n' "$1" "CPU/op" "$oc" "$([ "$3" != - ] && printf '%.1f us' "$kc" || echo -)" ""
	printf '%-44s %13s %11s/s %13s %13s\n' "" "capacity/core" "$(cap "$oc")" "$([ "$3" != - ] && echo "$(cap "$kc")/s" || echo -)" "${ratio:+${ratio}x}"
	printf '%-44s %13s %13s %13s\n' "" "ok/fail/retr" "$ook/$of/$orr" "$([ "$3" != - ] && echo "$kok/$kf/$krr" || echo -)"
}
row "1. OPTIONS @${OPTIONS_RATE}/s" "$ours_opt" "$kam_opt"
row "2a. digest call setup @${CALL_RATE}/s, webhook" "$ours_hook" "$kam_call"
row "2b. digest call setup @${CALL_RATE}/s, Wasm" "$ours_wasm" "$kam_call"
row "2c. same, webhook, BXML that plays nothing" "$ours_quiet" "$kam_call"
row "2d. 2a's sentence, held ${MEDIA_HOLD_MS} ms by sipp" "$ours_held" -
echo "  (ratio = Kamailio CPU/op / ours = our capacity as a share of Kamailio's; targets (#18): OPTIONS >= 1.0, calls >= 0.33)"
q=$(cut -d' ' -f1 <<<"$ours_quiet"); d=$(cut -d' ' -f1 <<<"$ours_held"); pkts=$((MEDIA_HOLD_MS / 20))
echo "  a call's CPU split: signalling + application $q us (2c; sipp's BYE follows its ACK at once, which cuts 2a's sentence"
echo "  after its first packets too), media $(awk -v d="$d" -v q="$q" 'BEGIN {printf "%.1f", d - q}') us for the ~$pkts packets a call held ${MEDIA_HOLD_MS} ms sends (2d - 2c:"
echo "  $(awk -v d="$d" -v q="$q" -v n="$pkts" 'BEGIN {printf "%.1f", (d - q) / n}') us per packet, the sentence and then silence)"
if [ -n "$pg_pid" ]; then
	echo "  PostgreSQL's own CPU per call (its processes, on the machine's other cores): 2a $(cut -d' ' -f7 <<<"$ours_hook") us, 2b $(cut -d' ' -f7 <<<"$ours_wasm") us, 2c $(cut -d' ' -f7 <<<"$ours_quiet") us"
fi
echo "  no-media flow: $nomedia; held flow: $held"
echo "  call flow: $answer; Kamailio: stateless 407/200 (kamailio.cfg)"
echo "  Wasm vs webhook CPU per call: $(awk -v w="$(cut -d' ' -f1 <<<"$ours_wasm")" -v h="$(cut -d' ' -f1 <<<"$ours_hook")" 'BEGIN {printf "%.2fx", (h > 0 ? w / h : 0)}'); calls ended (server counter): $calls_recorded"
echo "  highest clean webhook call-setup rate (one ${RAMP_DURATION}s run per step of: $RAMP; clean and at least 85% of the rate achieved): ${best_rate}/s"
echo "  UDP receive-buffer drops (system-wide): OPTIONS loads $(awk '{s+=$6} END {print s+0}' <<<"$ours_opt
$kam_opt"); call loads $(awk '{s+=$6} END {print s+0}' <<<"$ours_hook
$ours_wasm") (the first TTS packets reaching sipp's RTP socket, which sipp does not read)"
echo
printf '%s' "$relay_report"
echo
echo "4. memory: $MEM_CALLS answered calls held on a fresh server (<Pause>, RTP into the server); live media sessions $mem_live, goroutines $mem_goroutines ($mem_goroutines0 without calls)"
printf '   per live call: %.1f KiB live Go heap + stacks (after a forced GC, with the calls vs after they ended); %.1f KiB RSS (%d KiB fresh -> %d KiB)\n' \
	"$(awk -v a="$mem_heap0" -v b="$mem_heap1" -v n="$mem_live" 'BEGIN {print (n ? (b - a) / 1024 / n : 0)}')" \
	"$(awk -v a="$mem_rss0" -v b="$mem_rss1" -v n="$mem_live" 'BEGIN {print (n ? (b - a) / n : 0)}')" "$mem_rss0" "$mem_rss1"
if [ -n "$soak_report" ]; then
	echo
	echo "$soak_report"
fi
if [ "$TWO_CORES" = 1 ]; then
	echo
	echo "both cores: a second wasmvoice, GOMAXPROCS=2, neither it nor sipp pinned (whole-node capacity = 2 cores / CPU per op)"
	for l in "1. OPTIONS @${OPTIONS_RATE}/s|$two_opt" "2a. digest call setup @${CALL_RATE}/s, webhook|$two_hook"; do
		read -r c _ ok f r _ <<<"${l#*|}"
		printf '%-44s %10.1f us CPU/op, capacity %s/s on 2 cores, ok/fail/retr %s/%s/%s\n' "${l%%|*}" "$c" \
			"$(awk -v c="$c" 'BEGIN {printf "%.0f", (c > 0 ? 2e6 / c : 0)}')" "$ok" "$f" "$r"
	done
fi
if [ "$PROFILE" = 1 ]; then
	echo
	echo "top of the CPU profile of wasmvoice during webhook call setups (go tool pprof -top; every load's profile: $work/*.pprof):"
	go tool pprof -top -nodecount=25 "$work/wasmvoice" "$work/calls-webhook-1.pprof" 2>/dev/null | sed -n '4,32p' | sed 's/^/  /'
fi
echo
echo "raw results, sipp logs and the profile: $work"
