# tools/bench/files.sh: the file-transfer section of tools/bench/run (issue 15; BENCH_ONLY=files
# runs it alone). Sourced by run, which provides say, stop_pid, WORK, RES, BUILD, BIN and PORT;
# this file only defines functions (xf_*) until run calls xf_section.
#
# What it measures (the rows, medians of BENCH_FILE_REPS runs, default 3):
#   on a 1 Gbit/s link: two network namespaces made here, joined by a veth pair shaped with tc
#   (tbf, 1 Gbit/s, both directions); nothing else is in them, so nothing leaves them.
#     tcp   a bulk copy of the file's size over one kernel TCP connection (mim-bench-tcp-copy)
#     scp   OpenSSH's scp of the file to an sshd started here in namespace B (its own config,
#           throwaway host and client keys in the run's temp dir, never the system's)
#     mim   two `mim --json` peers (a presence server beside the sender), send_file of the
#           file, accepted by the receiver: time from the send_file to file_done on both sides
#   on loopback (CPU-bound, everything in namespace A's lo):
#     scp -c chacha20-poly1305@openssh.com, the raw secretstream rate (mim-bench-base
#     bulk-stream: push + pull of 64 KiB frames, no I/O), and mim as above
#   resident memory: VmRSS of both peers sampled every 0.1 s during the 1 Gbit/s transfer; the
#     growth is the peak minus the value just before the send_file.
# Root is needed (namespaces, tc, sshd): otherwise only the raw secretstream row runs, and the
# section says why. BENCH_FILE_MIB (default 1024; 64 with --quick) sets the file's size.

XF_NS_A="mimbench-a-$$"
XF_NS_B="mimbench-b-$$"
XF_ADDR_A=10.77.0.1
XF_ADDR_B=10.77.0.2
XF_PIDS="" # everything this section started, stopped by xf_cleanup
XF_NETNS=0

xf_cleanup() {
    for p in $XF_PIDS; do
        stop_pid "$p"
    done
    XF_PIDS=""
    if [ "$XF_NETNS" = 1 ]; then
        ip netns del "$XF_NS_A" 2>/dev/null || true
        ip netns del "$XF_NS_B" 2>/dev/null || true
        XF_NETNS=0
    fi
}

xf_now() { date +%s.%N; }
# Anything started in the background is started with `ip netns exec` itself, never through
# xf_in: a shell function put in the background is a subshell whose pid ($!) is not the
# program's, so stop_pid would leave the program running (and the RSS samples would read the
# subshell). ip execs the program: $! is its pid.
xf_in() { # ns command...: runs command in namespace ns (in the foreground)
    ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# xf_wait_line file pattern seconds [skip]: waits (bounded) until a line of file after its
# first `skip` lines matches the extended regular expression; 1 when the time ran out.
# xf_wait_line file pattern timeout_s [skip [poll_s]]: polls every poll_s (default 0.2 s: the
# timings come from the stamps, not from this poll). The wait for the offer polls faster (0.02 s):
# the receiver's accept_file goes when it ends, so its poll would count in the transfer's time.
xf_wait_line() {
    i=0
    poll=${5:-0.2}
    n=$(awk -v t="$3" -v p="$poll" 'BEGIN { print int(t / p) }')
    while ! tail -n +$((${4:-0} + 1)) "$1" 2>/dev/null | grep -Eq -- "$2"; do
        i=$((i + 1))
        [ $i -le "$n" ] || return 1
        sleep "$poll"
    done
}

# The two namespaces and the shaped veth pair between them; lo up in both.
xf_net_up() {
    ip netns add "$XF_NS_A"
    ip netns add "$XF_NS_B"
    XF_NETNS=1
    ip link add xfa netns "$XF_NS_A" type veth peer name xfb netns "$XF_NS_B"
    xf_in "$XF_NS_A" ip addr add $XF_ADDR_A/24 dev xfa
    xf_in "$XF_NS_B" ip addr add $XF_ADDR_B/24 dev xfb
    for pair in "$XF_NS_A xfa" "$XF_NS_B xfb"; do
        set -- $pair
        xf_in "$1" ip link set lo up
        xf_in "$1" ip link set "$2" up
        # 1 Gbit/s; a burst of 1 MB (above rate/HZ at any HZ) and 10 ms of queue.
        xf_in "$1" tc qdisc add dev "$2" root tbf rate 1gbit burst 1mb latency 10ms
    done
}

# ---- plain TCP ---------------------------------------------------------------------------------
# xf_tcp ns_send ns_recv addr name: one copy of XF_MIB MiB; MB/s into RES/files_tcp_<name>.
xf_tcp() {
    out="$WORK/xf_tcp.out"
    : >"$out"
    ip netns exec "$2" "$BIN/mim-bench-tcp-copy" sink --bind "$3" --port $((PORT + 20)) >"$out" \
        2>>"$WORK/xf.err" &
    sink=$!
    XF_PIDS="$XF_PIDS $sink"
    xf_wait_line "$out" '^listening' 10 || { say "files: the TCP sink did not start"; return 0; }
    xf_in "$1" "$BIN/mim-bench-tcp-copy" source --host "$3" --port $((PORT + 20)) --mib "$XF_MIB" \
        2>>"$WORK/xf.err" || say "files: the TCP source failed"
    wait "$sink" || true
    awk -v mib="$XF_MIB" '$2 == "tcp_seconds" && $3 > 0 { printf "%.1f\n", mib * 1.048576 / $3 }' \
        "$out" >>"$RES/files_tcp_$4"
}

# ---- scp and its sshd --------------------------------------------------------------------------
# xf_sshd ns addr: an sshd of our own in ns, listening on addr:PORT+21, with a config, a host key
# and an authorized client key made in WORK/ssh; root may log in with that key only.
xf_sshd() {
    d="$WORK/ssh"
    mkdir -p "$d"
    chmod 700 "$d"
    [ -f "$d/host" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host"
    [ -f "$d/client" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/client"
    cp "$d/client.pub" "$d/authorized_keys"
    cat >"$d/sshd_config" <<CONF
ListenAddress $2:$((PORT + 21))
HostKey $d/host
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
LogLevel INFO
CONF
    mkdir -p /run/sshd # sshd's privilege separation directory (empty; Debian's default path)
    : >"$d/log"
    ip netns exec "$1" /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>>"$d/log" &
    XF_SSHD=$!
    XF_PIDS="$XF_PIDS $XF_SSHD"
    xf_wait_line "$d/log" 'Server listening' 10 || { say "files: sshd did not start:"; tail -n 3 "$d/log" >&2; return 1; }
}
xf_sshd_stop() {
    stop_pid "$XF_SSHD"
}

# xf_scp ns_from addr name [scp options]: copies the file; MB/s into RES/files_scp_<name>.
xf_scp() {
    ns=$1 addr=$2 name=$3
    shift 3
    rm -f "$WORK/xf_dst/scp.bin"
    t0=$(xf_now)
    if xf_in "$ns" scp -q -i "$WORK/ssh/client" -P $((PORT + 21)) -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@" \
        "$XF_FILE" "root@$addr:$WORK/xf_dst/scp.bin" 2>>"$WORK/xf.err"; then
        t1=$(xf_now)
        if cmp -s "$XF_FILE" "$WORK/xf_dst/scp.bin"; then
            echo "$t0 $t1" | awk -v mib="$XF_MIB" '{ printf "%.1f\n", mib * 1.048576 / ($2 - $1) }' \
                >>"$RES/files_scp_$name"
        else
            say "files: scp's copy differs"
        fi
    else
        say "files: scp failed:"
        tail -n 3 "$WORK/xf.err" >&2
    fi
    rm -f "$WORK/xf_dst/scp.bin"
}

# ---- mim ---------------------------------------------------------------------------------------
# Each `mim --json` peer reads commands from a FIFO the driver holds open (fd 5: alice, the
# sender; fd 6: bob, the receiver) and its events go through xf_stamp into WORK/xf_<tag>.ev, each
# line prefixed with the time it was read: the timings come from those stamps, not from polling.
xf_stamp() {
    while IFS= read -r l; do
        printf '%s %s\n' "$(date +%s.%N)" "$l"
    done
}
# xf_peer ns tag fd server [options]: starts the peer and waits for its ready event.
xf_peer() {
    ns=$1 tag=$2 fd=$3 srv=$4
    shift 4
    rm -f "$WORK/xf_$tag.in" "$WORK/xf_$tag.pipe"
    mkfifo "$WORK/xf_$tag.in" "$WORK/xf_$tag.pipe"
    : >"$WORK/xf_$tag.ev"
    ip netns exec "$ns" "$BUILD/mim" --json --name "$tag" --server "$srv" --data-dir "$WORK/xf_$tag" \
        --log-level warn "$@" <"$WORK/xf_$tag.in" >"$WORK/xf_$tag.pipe" 2>>"$WORK/xf_$tag.log" &
    eval "XF_PID_$tag=\$!"
    XF_PIDS="$XF_PIDS $!"
    xf_stamp <"$WORK/xf_$tag.pipe" >"$WORK/xf_$tag.ev" &
    XF_PIDS="$XF_PIDS $!"
    eval "exec $fd>\"\$WORK/xf_\$tag.in\""
    xf_wait_line "$WORK/xf_$tag.ev" '"event":"ready"' 15 || { say "files: $tag did not start:"; tail -n 3 "$WORK/xf_$tag.log" >&2; return 1; }
}
xf_rss() { # pid: its VmRSS in kB (no fork: read by the shell)
    while read -r k v _; do
        if [ "$k" = VmRSS: ]; then
            echo "$v"
            return
        fi
    done <"/proc/$1/status"
    echo 0
}
# xf_rss_peak pid out: the peak VmRSS (kB) while WORK/xf_sampling exists, sampled every 0.1 s.
xf_rss_peak() {
    peak=0
    while [ -e "$WORK/xf_sampling" ] && kill -0 "$1" 2>/dev/null; do
        v=$(xf_rss "$1")
        [ "$v" -gt "$peak" ] && peak=$v
        sleep 0.1
    done
    echo "$peak" >"$2"
}

# xf_mim_once name measure_rss: one send_file from alice to bob, accepted by bob, timed from the
# send_file to file_done on both sides; the saved file must be the same bytes.
xf_mim_once() {
    name=$1
    na=$(wc -l <"$WORK/xf_alice.ev") nb=$(wc -l <"$WORK/xf_bob.ev")
    ra=$(xf_rss "$XF_PID_alice") rb=$(xf_rss "$XF_PID_bob")
    if [ "$2" = 1 ]; then
        : >"$WORK/xf_sampling"
        xf_rss_peak "$XF_PID_alice" "$WORK/xf_peak_a" &
        pa=$!
        xf_rss_peak "$XF_PID_bob" "$WORK/xf_peak_b" &
        pb=$!
    fi
    t0=$(xf_now)
    ta=$t0
    (printf '{"cmd":"send_file","to":"bob","path":"%s"}\n' "$XF_FILE" >&5) 2>/dev/null || true
    if xf_wait_line "$WORK/xf_bob.ev" '"event":"file_offer"' 30 "$nb" 0.02; then
        id=$(tail -n +$((nb + 1)) "$WORK/xf_bob.ev" | grep '"event":"file_offer"' | head -n 1 |
            sed -n 's/.*"id":"\([0-9a-fA-F]*\)".*/\1/p')
        ta=$(xf_now)
        (printf '{"cmd":"accept_file","id":"%s"}\n' "$id" >&6) 2>/dev/null || true
    fi
    ok=1
    xf_wait_line "$WORK/xf_alice.ev" '"event":"file_(done|failed)"' $((XF_MIB + 60)) "$na" || ok=0
    xf_wait_line "$WORK/xf_bob.ev" '"event":"file_(done|failed)"' $((XF_MIB + 60)) "$nb" || ok=0
    if [ "$2" = 1 ]; then
        rm -f "$WORK/xf_sampling"
        wait "$pa" "$pb" || true
        echo $((($(cat "$WORK/xf_peak_a") - ra) / 1024)) >>"$RES/files_rss_send"
        echo $((($(cat "$WORK/xf_peak_b") - rb) / 1024)) >>"$RES/files_rss_recv"
    fi
    done_a=$(tail -n +$((na + 1)) "$WORK/xf_alice.ev" | grep '"event":"file_done"' | head -n 1)
    done_b=$(tail -n +$((nb + 1)) "$WORK/xf_bob.ev" | grep '"event":"file_done"' | head -n 1)
    path=$(printf '%s' "$done_b" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
    if [ $ok = 0 ] || [ -z "$done_a" ] || [ -z "$done_b" ] || ! cmp -s "$XF_FILE" "$path"; then
        say "files: mim ($name) did not deliver the file:"
        tail -n 2 "$WORK/xf_alice.ev" "$WORK/xf_bob.ev" "$WORK/xf_bob.log" >&2
        echo failed >>"$RES/files_mim_$name"
        return 0
    fi
    rm -f "$path"
    t1=$(printf '%s\n%s\n' "$done_a" "$done_b" | cut -d' ' -f1 | sort -g | tail -n 1)
    # From the send_file (the sender reads and hashes the whole file before its offer goes),
    # and from the receiver's accept_file (the streaming and verification alone).
    for from in "$t0:" "$ta:_accepted"; do
        echo "$t1" | awk -v t0="${from%%:*}" -v mib="$XF_MIB" \
            '{ printf "%.1f\n", mib * 1.048576 / ($1 - t0) }' >>"$RES/files_mim_$name${from#*:}"
    done
}

# xf_mim name ns_srv srv_addr ns_a ns_b: a presence server and the two peers, XF_REPS transfers
# (the first one with the memory samples when name is net), everything stopped after.
xf_mim() {
    name=$1 nss=$2 saddr=$3 nsa=$4 nsb=$5
    sport=$((PORT + 22))
    : >"$WORK/xf_presence.out"
    ip netns exec "$nss" "$BUILD/mim-presence" --port $sport --bind "$saddr" --discovery-port off \
        --data-dir "$WORK/xf_presence_$name" --log-level warn >"$WORK/xf_presence.out" \
        2>>"$WORK/xf_presence.err" &
    srv=$!
    XF_PIDS="$XF_PIDS $srv"
    xf_wait_line "$WORK/xf_presence.out" '^ready port=' 10 || { say "files: mim-presence did not start"; return 0; }
    rm -rf "$WORK/xf_alice" "$WORK/xf_bob"
    if xf_peer "$nsa" alice 5 "$saddr:$sport" &&
        xf_peer "$nsb" bob 6 "$saddr:$sport" --download-dir "$WORK/xf_dl_$name" &&
        xf_wait_line "$WORK/xf_alice.ev" '"event":"online","name":"bob"' 15 &&
        xf_wait_line "$WORK/xf_bob.ev" '"event":"online","name":"alice"' 15; then
        r=0
        while [ $r -lt "$XF_REPS" ]; do
            r=$((r + 1))
            say "   mim $name run $r/$XF_REPS"
            rss=0
            [ "$name" = net ] && [ $r = 1 ] && rss=1
            xf_mim_once "$name" $rss
        done
    else
        say "files: the mim peers ($name) did not see each other"
    fi
    # In subshells: a peer that already died would end the driver with SIGPIPE.
    (printf '{"cmd":"quit"}\n' >&5) 2>/dev/null || true
    (printf '{"cmd":"quit"}\n' >&6) 2>/dev/null || true
    exec 5>&- 6>&-
    xf_cleanup_pids_only
}
xf_cleanup_pids_only() {
    for p in $XF_PIDS; do
        stop_pid "$p"
    done
    XF_PIDS=""
}

# ---- the section -------------------------------------------------------------------------------
xf_section() {
    XF_MIB=${BENCH_FILE_MIB:-1024}
    XF_REPS=${BENCH_FILE_REPS:-3}
    if [ "${1:-}" = "--quick" ]; then
        XF_MIB=${BENCH_FILE_MIB:-64} XF_REPS=1
    fi
    XF_FILE="$WORK/xf_src/bench.bin"
    mkdir -p "$WORK/xf_src" "$WORK/xf_dst"
    say "== files: a $XF_MIB MiB file, $XF_REPS runs per row"
    head -c $((XF_MIB * 1048576)) /dev/urandom >"$XF_FILE"
    r=0
    while [ $r -lt "$XF_REPS" ]; do
        r=$((r + 1))
        "$BIN/mim-bench-base" bulk-stream --mib "$XF_MIB" 2>>"$WORK/xf.err" |
            awk '$2 == "bulk_stream_MBps" { print $3 }' >>"$RES/files_stream_loop"
    done
    if [ "$(id -u)" -ne 0 ]; then
        say "files: not root: the network namespaces, tc, sshd and mim rows are skipped"
        return 0
    fi
    xf_net_up
    r=0
    while [ $r -lt "$XF_REPS" ]; do
        r=$((r + 1))
        say "   tcp run $r/$XF_REPS"
        xf_tcp "$XF_NS_A" "$XF_NS_B" $XF_ADDR_B net
        xf_tcp "$XF_NS_A" "$XF_NS_A" 127.0.0.1 loop
    done
    if xf_sshd "$XF_NS_B" $XF_ADDR_B; then
        r=0
        while [ $r -lt "$XF_REPS" ]; do
            r=$((r + 1))
            say "   scp net run $r/$XF_REPS"
            xf_scp "$XF_NS_A" $XF_ADDR_B net
        done
        xf_sshd_stop
    fi
    if xf_sshd "$XF_NS_A" 127.0.0.1; then
        r=0
        while [ $r -lt "$XF_REPS" ]; do
            r=$((r + 1))
            say "   scp chacha loopback run $r/$XF_REPS"
            xf_scp "$XF_NS_A" 127.0.0.1 loop -c chacha20-poly1305@openssh.com
        done
        xf_sshd_stop
    fi
    xf_mim net "$XF_NS_A" $XF_ADDR_A "$XF_NS_A" "$XF_NS_B"
    xf_mim loop "$XF_NS_A" 127.0.0.1 "$XF_NS_A" "$XF_NS_A"
    xf_cleanup
    rm -rf "$WORK/xf_src" "$WORK/xf_dst" "$WORK"/xf_dl_*
}
