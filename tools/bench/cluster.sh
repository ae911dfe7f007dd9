# tools/bench/cluster.sh: the cluster section of tools/bench/run (issue 18; BENCH_ONLY=cluster
# runs it alone). Sourced by run, which provides say, stop_pid, WORK, RES, BUILD, BIN, PORT, N2
# and REPS; this file only defines functions (cl_*) until run calls cl_section.
#
# It starts its own NATS cluster (three nats-server processes with JetStream, routed to each
# other, 127.0.0.1 only, stores in the run's temp dir) and three mim-presence servers with
# --cluster on it, and against them, in the same run as one plain server (no --cluster):
#   storm     N2 peers log in, spread evenly over the three servers (mim-bench-load --ports),
#             until every peer knows all N2-1 others, wherever they are: the time, against the
#             same storm on one server (target: <= 1.5x)
#   status    a status change reaching all N2 peers over the three servers, against one server
#   converge  CL_OBSERVERS peers logged in (spread), then CL_ADDS newcomers one by one: the
#             time from a newcomer's connect until every peer on every server has its add (and
#             it has them all): p50 and p99 (target p99 <= 1 s), against one server
# BENCH_CLUSTER_N sets the N of the storm and status rows (default N2: 5000, 200 with --quick).
# Every process it starts is stopped by cl_cleanup (run's EXIT trap calls it too).

CL_PIDS=""       # nats-server and mim-presence processes of this section
CL_OBSERVERS=300 # converge: peers already in
CL_ADDS=100      # converge: newcomers measured
CL_N=${BENCH_CLUSTER_N:-$N2}
case $CL_N in "" | *[!0-9]*) echo "run: bad BENCH_CLUSTER_N" >&2; exit 2 ;; esac

cl_cleanup() {
    for p in $CL_PIDS; do
        stop_pid "$p"
    done
    CL_PIDS=""
}

cl_nats_port() { echo $((PORT + 30 + $1)); }
cl_route_port() { echo $((PORT + 40 + $1)); }
cl_mim_port() { echo $((PORT + 50 + $1)); }

# cl_nats: three fresh nodes (new stores); waits until each accepts and a JetStream metadata
# leader is elected (20 s at most).
cl_nats() {
    rm -rf "$WORK/nats"
    mkdir -p "$WORK/nats"
    for i in 0 1 2; do
        routes=""
        for j in 0 1 2; do
            [ "$j" = "$i" ] || routes="$routes${routes:+, }nats-route://127.0.0.1:$(cl_route_port $j)"
        done
        cat >"$WORK/nats/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$(cl_nats_port $i)
jetstream { store_dir: "$WORK/nats/store$i", max_memory_store: 64MB, max_file_store: 1GB }
cluster { name: mimbench, listen: 127.0.0.1:$(cl_route_port $i), routes: [$routes] }
CONF
        nats-server -c "$WORK/nats/n$i.conf" >"$WORK/nats/n$i.log" 2>&1 &
        CL_PIDS="$CL_PIDS $!"
    done
    for i in 0 1 2; do wait_port "$(cl_nats_port $i)" || return 1; done
    i=0
    while ! grep -q "metadata leader" "$WORK/nats"/n*.log; do
        i=$((i + 1))
        [ $i -le 200 ] || { say "cluster: no JetStream leader within 20 s"; return 1; }
        sleep 0.1
    done
}

# cl_presence i [--cluster URLS --server-id ID]: one mim-presence on cl_mim_port i, caps
# lifted as run's start_mim does, a fresh data dir.
cl_presence() {
    i=$1
    shift
    rm -rf "$WORK/cl-presence$i"
    "$BUILD/mim-presence" --port "$(cl_mim_port "$i")" --bind 127.0.0.1 --discovery-port off \
        --data-dir "$WORK/cl-presence$i" --log-level warn --max-peers 100000 --max-unauth 100000 \
        --max-unauth-per-ip 100000 --handshake-rate 1000000 --handshake-timeout 120000 \
        --logins-per-address 0 --logins-per-key 0 --max-queued 67108864 "$@" \
        >/dev/null 2>>"$WORK/cl-presence$i.err" &
    CL_PIDS="$CL_PIDS $!"
    wait_port "$(cl_mim_port "$i")"
}

# cl_up servers: one plain server (1), or the NATS cluster and three servers on it (3).
cl_up() {
    if [ "$1" = 1 ]; then
        cl_presence 0
        return
    fi
    cl_nats || return 1
    urls="nats://127.0.0.1:$(cl_nats_port 0),nats://127.0.0.1:$(cl_nats_port 1),nats://127.0.0.1:$(cl_nats_port 2)"
    for i in 0 1 2; do
        cl_presence $i --cluster "$urls" --server-id "s$i" || return 1
    done
    sleep 1 # the servers hear each other's first heartbeat (cluster: "joined")
}

cl_ports() { # servers
    if [ "$1" = 1 ]; then cl_mim_port 0; else echo "$(cl_mim_port 0),$(cl_mim_port 1),$(cl_mim_port 2)"; fi
}

# cl_load servers case n file [load options]: one fresh setup, one load run; the results go to
# RES/file (one value a line).
cl_load() {
    servers=$1 kind=$2 n=$3 file=$4
    shift 4
    cl_up "$servers" || { say "cluster: setup failed"; echo failed >>"$RES/$file"; cl_cleanup; return 0; }
    say "   cluster $kind n=$n over $servers server(s)"
    if out=$("$BIN/mim-bench-load" --proto mim --case "$kind" --n "$n" --ports "$(cl_ports "$servers")" \
        --key-dir "$WORK/keys" --timeout 300 "$@" 2>>"$WORK/cl-load.err"); then
        printf '%s\n' "$out" | awk '$1 == "result" { print $3 }' >>"$RES/$file"
    else
        say "cluster: $kind over $servers server(s) failed:"
        tail -n 3 "$WORK/cl-load.err" >&2
        echo failed >>"$RES/$file"
    fi
    cl_cleanup
}

# cl_pct file p: the p-th percentile (nearest rank) of a result file's values, in ms.
cl_pct() {
    [ -s "$RES/$1" ] || { echo "n/a"; return; }
    grep -v failed "$RES/$1" | sort -g | awk -v p="$2" '{ v[NR] = $1 } END {
        if (NR == 0) { print "failed"; exit }
        k = int((p * NR + 99) / 100); if (k < 1) k = 1; printf "%.1f\n", v[k] * 1000 }'
}

cl_section() {
    if ! command -v nats-server >/dev/null 2>&1; then
        say "== cluster: nats-server is not installed (tools/install-deps): section skipped"
        return 0
    fi
    say "== cluster (issue 18): storm, status and convergence over three servers vs one"
    r=0
    while [ $r -lt "$REPS" ]; do # interleaved, so a noisy moment hits both alike
        r=$((r + 1))
        cl_load 1 storm "$CL_N" "cl_storm1_$CL_N"
        cl_load 3 storm "$CL_N" "cl_storm3_$CL_N"
    done
    cl_load 1 status "$CL_N" "cl_status1_$CL_N" --reps 5
    cl_load 3 status "$CL_N" "cl_status3_$CL_N" --reps 5
    cl_load 1 converge $CL_OBSERVERS cl_converge1 --reps $CL_ADDS
    cl_load 3 converge $CL_OBSERVERS cl_converge3 --reps $CL_ADDS
}

cl_rows() {
    row "storm n=$CL_N over 3 servers, s" "$(med cl_storm3_$CL_N)" "$(med cl_storm1_$CL_N)" "1 server" lower 1.5
    row "status to n=$CL_N over 3 servers, s" "$(med cl_status3_$CL_N)" "$(med cl_status1_$CL_N)" "1 server" lower -
    row "add seen on all 3 servers p50, ms" "$(cl_pct cl_converge3 50)" "$(cl_pct cl_converge1 50)" "1 server" lower -
    row "add seen on all 3 servers p99, ms" "$(cl_pct cl_converge3 99)" "$(cl_pct cl_converge1 99)" "1 server" abs-le 1000
}
