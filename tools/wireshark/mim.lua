-- A Wireshark dissector for mim (docs/PROTOCOL.md), in Lua.
--
--   wireshark -X lua_script:tools/wireshark/mim.lua capture.pcap
--   tshark    -X lua_script:tools/wireshark/mim.lua -r capture.pcap -V
--
-- or copy it to ~/.local/lib/wireshark/plugins/. It shows the structure of what mim sends, never
-- its content (everything after the handshake's first message is encrypted):
--
--   mim (TCP): the frames (a 2-byte big-endian length, then the body; chapter 3), named by their
--     place in the connection: the three Noise XX handshake messages with their fields (chapter
--     4), each side's 24-byte secretstream header, then encrypted messages (chapter 5). The
--     presence port (4242) is known; peer-to-peer connections use ports chosen by the kernel, so
--     a heuristic recognises a connection whose first frame is a 32-byte message 1.
--   mim_discovery (UDP): the 56-byte probe and answer of LAN discovery (chapter 10), decoded.
--
-- Malformed input (a zero-length frame, a handshake message of an impossible size, a datagram
-- of the wrong size or with non-zero padding) is flagged with expert info; nothing is trusted.

local mim = Proto("mim", "mim LAN messenger")
local disc = Proto("mim_discovery", "mim LAN discovery")

-- ---- preferences ------------------------------------------------------------------------------

mim.prefs.presence_port = Pref.uint("Presence server TCP port", 4242,
    "The TCP port of mim-presence (its --port)")
mim.prefs.extra_ports = Pref.range("Extra TCP ports", "", "More TCP ports to decode as mim "
    .. "(peers' --listen-port values); other connections are found by the heuristic", 65535)
mim.prefs.heuristic = Pref.bool("Find peer connections by their first frame", true,
    "Decode a TCP connection on any port whose first frame is a 32-byte handshake message 1")
disc.prefs.port = Pref.uint("Discovery UDP port", 4242,
    "The UDP port of LAN discovery (mim-presence --discovery-port)")

-- ---- what a frame is --------------------------------------------------------------------------

local KIND_MSG1, KIND_MSG2, KIND_MSG3, KIND_HEADER, KIND_MESSAGE, KIND_FINAL, KIND_UNKNOWN =
    1, 2, 3, 4, 5, 6, 7
local kind_names = {
    [KIND_MSG1] = "Handshake message 1 (-> e)",
    [KIND_MSG2] = "Handshake message 2 (<- e, ee, s, es)",
    [KIND_MSG3] = "Handshake message 3 (-> s, se)",
    [KIND_HEADER] = "Stream header",
    [KIND_MESSAGE] = "Encrypted message",
    [KIND_FINAL] = "Encrypted message, no plaintext (an empty FINAL)",
    [KIND_UNKNOWN] = "Frame (the connection's start was not captured)",
}
local direction_names = { [0] = "initiator -> responder", [1] = "responder -> initiator" }

local f = mim.fields
f.frame = ProtoField.bytes("mim.frame", "Frame", base.NONE)
f.len = ProtoField.uint16("mim.len", "Length", base.DEC, nil, nil, "The body's length (2 bytes, BE)")
f.kind = ProtoField.uint8("mim.kind", "Kind", base.DEC, kind_names)
f.direction = ProtoField.uint8("mim.direction", "Direction", base.DEC, direction_names)
f.index = ProtoField.uint32("mim.index", "Frame number in this direction", base.DEC)
f.ephemeral = ProtoField.bytes("mim.hs.ephemeral", "Ephemeral public key (e, X25519)")
f.static_enc = ProtoField.bytes("mim.hs.static_enc",
    "Encrypted static public key (s: 32 + 16-byte tag)")
f.payload_enc = ProtoField.bytes("mim.hs.payload_enc", "Encrypted HandshakePayload")
f.payload_len = ProtoField.uint16("mim.hs.payload_len", "HandshakePayload size (plaintext)")
f.name_len = ProtoField.uint16("mim.hs.name_len", "Name length in the payload (bytes)")
f.sender = ProtoField.string("mim.hs.sender", "Sender")
f.header = ProtoField.bytes("mim.stream.header", "Secretstream header (24 random bytes)")
f.tag_enc = ProtoField.uint8("mim.msg.tag_enc", "Encrypted tag byte", base.HEX)
f.ciphertext = ProtoField.bytes("mim.msg.ciphertext", "Ciphertext")
f.mac = ProtoField.bytes("mim.msg.mac", "Poly1305 MAC")
f.plaintext_len = ProtoField.uint16("mim.msg.plaintext_len", "Plaintext size",
    base.DEC, nil, nil, "frame length - 17: a PresenceBatch or a PeerBatch")

local ef_zero = ProtoExpert.new("mim.zero_length", "Zero-length frame (no mim frame is empty)",
    expert.group.MALFORMED, expert.severity.ERROR)
local ef_size = ProtoExpert.new("mim.bad_size", "Impossible size for this frame",
    expert.group.MALFORMED, expert.severity.ERROR)
local ef_big = ProtoExpert.new("mim.too_big_unauth",
    "Frame over 1024 bytes before the remote is authenticated",
    expert.group.PROTOCOL, expert.severity.WARN)
mim.experts = { ef_zero, ef_size, ef_big }

-- ---- per-connection state ---------------------------------------------------------------------
-- Wireshark dissects every packet once in order (pinfo.visited false), then again in any order
-- when it is shown. The first pass works out each frame's kind from the connection's state and
-- keeps it by (packet, frame in packet); later passes read it back.

local f_tcp_stream = Field.new("tcp.stream")
local f_tcp_seq = Field.new("tcp.seq")
local connections = {}  -- tcp.stream -> { initiator = "addr:port", count = { [0] = n, [1] = n } }
local frame_info = {}   -- "packet:n" -> { kind, direction, index }
local pdu_in_packet = 0 -- frames dissected so far in the current packet

function mim.init()
    connections = {}
    frame_info = {}
end

local function endpoint(pinfo, src)
    if src then return tostring(pinfo.src) .. ":" .. pinfo.src_port end
    return tostring(pinfo.dst) .. ":" .. pinfo.dst_port
end

-- The kind of the index-th frame (from 1) in a direction, for a connection seen from its start.
local function kind_of(direction, index, len)
    if direction == 0 then
        if index == 1 then return KIND_MSG1 end
        if index == 2 then return KIND_MSG3 end
        if index == 3 then return KIND_HEADER end
    else
        if index == 1 then return KIND_MSG2 end
        if index == 2 then return KIND_HEADER end
    end
    if len == 17 then return KIND_FINAL end
    return KIND_MESSAGE
end

local function classify(pinfo, len)
    local key = pinfo.number .. ":" .. pdu_in_packet
    if pinfo.visited and frame_info[key] then return frame_info[key] end
    local stream = f_tcp_stream()
    stream = stream and stream.value or -1
    local conn = connections[stream]
    if conn == nil then
        conn = { count = { [0] = 0, [1] = 0 } }
        -- A connection seen from its start opens with message 1, 32 bytes, from the initiator.
        if len == 32 then conn.initiator = endpoint(pinfo, true) end
        connections[stream] = conn
    end
    local info
    if conn.initiator == nil then
        info = { kind = KIND_UNKNOWN }
    else
        local direction = (endpoint(pinfo, true) == conn.initiator) and 0 or 1
        conn.count[direction] = conn.count[direction] + 1
        local index = conn.count[direction]
        info = { kind = kind_of(direction, index, len), direction = direction, index = index }
    end
    frame_info[key] = info
    return info
end

-- ---- one frame --------------------------------------------------------------------------------

-- The handshake payload is len(P) + 16 bytes; a presence server's P is 102 bytes (no name; 104
-- with its features, below), a
-- peer's 104 + n (n < 128: the name's bytes), plus 2 for its `features` field (28 01), which
-- today's mim sends to peers (PROTOCOL.md 14.2): the name is taken to be P - 106 bytes, and the
-- tree says what it would be for a peer without the field.
local function add_payload(t, body, at, who)
    local enc = body:len() - at
    t:add(f.payload_enc, body(at, enc))
    local plen = enc - 16
    t:add(f.payload_len, body(at, enc), plen)
    -- 104: a server that sends `features` (28 02: it offers the mailbox, issue 14); no peer's
    -- payload is 104 bytes (its name has at least one).
    if (plen == 102 or plen == 104) and who == "responder" then
        t:add(f.sender, body(at, enc), "a presence server (no name)"):set_generated()
    elseif plen >= 107 then
        local n = plen - 106
        if n >= 128 then n = n - 1 end -- a 128-byte name has a 2-byte length varint
        t:add(f.name_len, body(at, enc), n):set_generated()
        t:add(f.sender, body(at, enc), "a peer (" .. who .. "), name of " .. n .. " bytes"
            .. " (" .. (n + 2) .. " from a peer that sends no features)"):set_generated()
    elseif plen >= 105 then -- too short for a name and the features: a peer without them
        t:add(f.name_len, body(at, enc), plen - 104):set_generated()
        t:add(f.sender, body(at, enc), "a peer (" .. who .. "), name of " .. (plen - 104)
            .. " bytes, no features"):set_generated()
    end
end

local function dissect_body(t, body, info)
    local len = body:len()
    local kind = info.kind
    if kind == KIND_MSG1 then
        if len ~= 32 then t:add_proto_expert_info(ef_size, "message 1 must be exactly 32 bytes") end
        t:add(f.ephemeral, body(0, math.min(len, 32)))
    elseif kind == KIND_MSG2 then
        if len < 96 then
            t:add_proto_expert_info(ef_size, "message 2 must be at least 96 bytes")
            return
        end
        t:add(f.ephemeral, body(0, 32))
        t:add(f.static_enc, body(32, 48))
        add_payload(t, body, 80, "responder")
    elseif kind == KIND_MSG3 then
        if len < 64 then
            t:add_proto_expert_info(ef_size, "message 3 must be at least 64 bytes")
            return
        end
        t:add(f.static_enc, body(0, 48))
        add_payload(t, body, 48, "initiator")
    elseif kind == KIND_HEADER then
        if len ~= 24 then t:add_proto_expert_info(ef_size, "a stream header is exactly 24 bytes") end
        t:add(f.header, body(0, math.min(len, 24)))
    elseif kind == KIND_MESSAGE or kind == KIND_FINAL then
        if len < 17 then
            t:add_proto_expert_info(ef_size, "an encrypted message is at least 17 bytes")
            return
        end
        t:add(f.tag_enc, body(0, 1))
        if len > 17 then t:add(f.ciphertext, body(1, len - 17)) end
        t:add(f.mac, body(len - 16, 16))
        t:add(f.plaintext_len, body(0, len), len - 17):set_generated()
    end
    if kind ~= KIND_MESSAGE and kind ~= KIND_FINAL and kind ~= KIND_UNKNOWN and len > 1024 then
        t:add_proto_expert_info(ef_big)
    end
end

local function dissect_frame(tvb, pinfo, tree)
    pdu_in_packet = pdu_in_packet + 1
    local len = tvb(0, 2):uint()
    local info = classify(pinfo, len)
    local name = kind_names[info.kind]
    local t = tree:add(mim, tvb(), "mim frame: " .. name .. ", " .. len .. " bytes")
    t:add(f.len, tvb(0, 2))
    t:add(f.kind, tvb(0, 2), info.kind):set_generated()
    if info.direction ~= nil then
        t:add(f.direction, tvb(0, 2), info.direction):set_generated()
        t:add(f.index, tvb(0, 2), info.index):set_generated()
    end
    if len == 0 then
        t:add_proto_expert_info(ef_zero)
    else
        dissect_body(t, tvb(2, len):tvb(), info)
    end
    if pdu_in_packet == 1 then
        pinfo.cols.info:set(name)
    else
        pinfo.cols.info:append(", " .. name)
    end
    return tvb:len()
end

local function frame_length(tvb, pinfo, offset)
    return tvb(offset, 2):uint() + 2
end

function mim.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 then return 0 end
    pinfo.cols.protocol:set("mim")
    pdu_in_packet = 0
    dissect_tcp_pdus(tvb, tree, 2, frame_length, dissect_frame, true)
    return tvb:len()
end

-- A connection on any port whose first segment is exactly message 1 (00 20 and 32 bytes).
local function heuristic(tvb, pinfo, tree)
    if not mim.prefs.heuristic or tvb:len() ~= 34 or tvb(0, 2):uint() ~= 32 then return false end
    local seq = f_tcp_seq()
    if seq ~= nil and seq.value ~= 1 then return false end
    pinfo.conversation = mim
    mim.dissector(tvb, pinfo, tree)
    return true
end

-- ---- discovery --------------------------------------------------------------------------------

local d = disc.fields
d.kind = ProtoField.string("mim_discovery.kind", "Kind")
d.magic = ProtoField.string("mim_discovery.magic", "Magic")
d.version = ProtoField.uint8("mim_discovery.version", "Version")
d.zero = ProtoField.bytes("mim_discovery.zero", "Zero padding")
d.port = ProtoField.uint16("mim_discovery.port", "Server's TCP port")
d.nonce = ProtoField.bytes("mim_discovery.nonce", "Nonce")
d.identity = ProtoField.bytes("mim_discovery.identity_pk", "Server's identity key (Ed25519)")

local ef_disc = ProtoExpert.new("mim_discovery.malformed", "Malformed discovery datagram",
    expert.group.MALFORMED, expert.severity.ERROR)
disc.experts = { ef_disc }

local function check_zero(t, r, what)
    local item = t:add(d.zero, r)
    for i = 0, r:len() - 1 do
        if r(i, 1):uint() ~= 0 then
            item:add_proto_expert_info(ef_disc, what .. " is not all zero: the server ignores it")
            return
        end
    end
end

function disc.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < 4 then return 0 end
    local magic = tvb(0, 4):string()
    local kind = (magic == "MIM?" and "Probe") or (magic == "MIM!" and "Answer") or nil
    pinfo.cols.protocol:set("mim discovery")
    local t = tree:add(disc, tvb(), "mim discovery: " .. (kind or "not a mim datagram"))
    t:add(d.magic, tvb(0, 4))
    if kind == nil then
        t:add_proto_expert_info(ef_disc, "magic is neither MIM? nor MIM!")
        pinfo.cols.info:set("mim discovery: unknown magic")
        return len
    end
    t:add(d.kind, tvb(0, 4), kind):set_generated()
    pinfo.cols.info:set("Discovery " .. string.lower(kind))
    if len ~= 56 then
        t:add_proto_expert_info(ef_disc, "a discovery datagram is exactly 56 bytes, not " .. len)
        return len
    end
    local v = t:add(d.version, tvb(4, 1))
    if tvb(4, 1):uint() ~= 1 then v:add_proto_expert_info(ef_disc, "version is not 1") end
    if kind == "Probe" then
        check_zero(t, tvb(5, 3), "bytes 5..7")
        t:add(d.nonce, tvb(8, 16))
        check_zero(t, tvb(24, 32), "bytes 24..55")
    else
        check_zero(t, tvb(5, 1), "byte 5")
        local p = t:add(d.port, tvb(6, 2))
        if tvb(6, 2):uint() == 0 then p:add_proto_expert_info(ef_disc, "port 0") end
        t:add(d.nonce, tvb(8, 16))
        t:add(d.identity, tvb(24, 32))
        pinfo.cols.info:append(": server on port " .. tvb(6, 2):uint())
    end
    return len
end

local function disc_heuristic(tvb, pinfo, tree)
    if tvb:len() ~= 56 then return false end
    local magic = tvb(0, 4):string()
    if magic ~= "MIM?" and magic ~= "MIM!" then return false end
    disc.dissector(tvb, pinfo, tree)
    return true
end

-- ---- registration -----------------------------------------------------------------------------

local tcp_table = DissectorTable.get("tcp.port")
local udp_table = DissectorTable.get("udp.port")
local registered_tcp, registered_extra, registered_udp = nil, nil, nil

local function register_ports()
    if registered_tcp then tcp_table:remove(registered_tcp, mim) end
    if registered_extra then tcp_table:remove(registered_extra, mim) end
    if registered_udp then udp_table:remove(registered_udp, disc) end
    registered_tcp = mim.prefs.presence_port
    registered_extra = mim.prefs.extra_ports
    registered_udp = disc.prefs.port
    if registered_tcp ~= 0 then tcp_table:add(registered_tcp, mim) end
    if registered_extra ~= nil and tostring(registered_extra) ~= "" then
        tcp_table:add(registered_extra, mim)
    end
    if registered_udp ~= 0 then udp_table:add(registered_udp, disc) end
end

function mim.prefs_changed() register_ports() end
function disc.prefs_changed() register_ports() end

register_ports()
mim:register_heuristic("tcp", heuristic)
disc:register_heuristic("udp", disc_heuristic)
