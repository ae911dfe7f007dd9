#!/usr/bin/python3
"""mim-gtk's end-to-end tests: the real window under Xvfb, read and driven through its
accessibility tree (AT-SPI), against a real mim-presence on loopback and a `mim --json` peer.

    test_gtk.py SCENARIO --mim M --presence P --mim-gtk G --build-dir B [--shots-dir DIR]
                [--doc-shot PNG]

Each scenario is one ctest entry (gtk/SCENARIO, tests/gtk/CMakeLists.txt) and saves a
screenshot of each state it checks to SHOTS/SCENARIO-STATE.png. README.md says more.
"""

import argparse
import os
import re
import shutil
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from gtk_session import GtkApp, JsonPeer, Presence, Session, TestFailure, check_log_clean

DASH = "\u2014"  # the title's "mim — NAME"
FILE_SIZE = 3 * 1024 * 1024  # bytes: a transfer of several pieces, still a second on loopback
SCENARIOS = {}
ui_module = None  # gtk_ui, imported once the test's own session bus is up


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def check(condition, message):
    if not condition:
        raise TestFailure(message)


class Env:
    """One test's world: the session (processes, temporary dir), the server, the binaries."""

    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.session = Session(args.build_dir, name)
        self.server = None
        self.ui = None
        self.peers = []
        self.t0 = time.monotonic()

    def step(self, what):
        """A line with the time since the start: where a slow (or timed-out) run spent it."""
        print("[%5.1f s] %s" % (time.monotonic() - self.t0, what), flush=True)

    def bin(self, name):
        return {"mim": self.args.mim, "mim-presence": self.args.presence,
                "mim-gtk": self.args.mim_gtk}[name]

    def finish(self):
        """After the checks: mim-gtk quits cleanly, then every mim process's log is free of
        sanitizer reports (the ASan build runs these tests too)."""
        self.step("checks done")
        if self.ui is not None:
            self.ui.app.finish()
            self.step("mim-gtk quit cleanly")
        for peer in self.peers:
            if peer.proc.poll() is None:
                peer.quit()
        self.session.stop(self.server.proc)
        for log_path in self.session.logs:
            if os.path.basename(log_path).startswith(("json-", "presence", "mim-gtk")):
                check_log_clean(log_path)

    def start(self, same_udp_port=False):
        global ui_module
        self.session.start_desktop()
        import gtk_ui  # pyatspi: after DBUS_SESSION_BUS_ADDRESS is set
        ui_module = gtk_ui
        self.server = Presence(self.session, self.bin("mim-presence"), same_udp_port)
        self.step("display %s, session bus, mim-presence on %s"
                  % (os.environ["DISPLAY"], self.server.address))

    def peer(self, name, data_dir=None):
        peer = JsonPeer(self.session, self.bin("mim"), name, self.server.address, data_dir)
        self.peers.append(peer)
        return peer

    def gtk(self, data_dir, *args):
        """Starts mim-gtk; returns its Ui (the AT-SPI side)."""
        app = GtkApp(self.session, self.bin("mim-gtk"), data_dir, args)
        self.ui = ui_module.Ui(self.session, app, self.args.shots_dir, self.name)
        return self.ui

    def gtk_logged_in(self, name, *args):
        """mim-gtk as NAME on a new data dir, straight into the main window (--name), logged in;
        returns (ui, main window)."""
        ui = self.gtk(self.session.path("gtk-" + name), "--name", name, "--server",
                      self.server.address, *args)
        win = ui.window(title_of(name), timeout=ui_module.WINDOW_TIMEOUT)
        state = ui.find(win, "Server state", "label")
        ui.wait_text(state, lambda t: t == "connected", "Server state 'connected'")
        self.step("mim-gtk's window %r, connected" % title_of(name))
        return ui, win


def title_of(name, unread=0):
    return ("(%d) " % unread if unread else "") + "mim %s %s" % (DASH, name)


def contact_row(ui, win, name, saying=""):
    """The row of NAME in the list "Contacts" (its label starts with the name: "bob, ..."),
    waited for until its label also says SAYING. Found anew, not watched: the list is redrawn
    on changes, with new rows."""
    contacts = ui.find(win, "Contacts", "list")
    return ui.find(contacts, lambda t: (t == name or (t or "").startswith(name + ", "))
                   and saying in t, "list item")


def open_conversation(ui, win, name):
    ui.select(contact_row(ui, win, name))
    return ui.find(win, "Messages", "list")


def chat_with_bob(env, text, *gtk_args):
    """bob (`mim --json`) writes TEXT to alice (the window); returns (bob, ui, win)."""
    bob = env.peer("bob")
    ui, win = env.gtk_logged_in("alice", *gtk_args)
    bob.expect("online", name="alice")
    bob.cmd(cmd="send", to="alice", text=text, tag="b1")
    bob.expect("delivered", tag="b1")
    return bob, ui, win


# ---- the scenarios ----------------------------------------------------------------------------

@scenario
def first_run(env):
    """No identity, no --name: the assistant asks the name and the server, shows the server's
    fingerprint (found by asking the typed address), and Continue logs in as that name."""
    env.start(same_udp_port=True)
    data_dir = env.session.path("gtk-first")
    ui = env.gtk(data_dir)
    win = ui.window("Welcome to mim", timeout=ui_module.WINDOW_TIMEOUT)
    ui.type_into(ui.find(win, "Your name", "text"), "alice")
    ui.type_into(ui.find(win, "Server address", "text"), env.server.address)
    ui.click(ui.find(win, "Find server", "push button"))
    fp = ui.find(win, "Server fingerprint", "label")
    ui.wait_text(fp, lambda t: t == env.server.fingerprint,
                 "the server's fingerprint %s in the assistant" % env.server.fingerprint)
    ui.shot("assistant", win)
    ui.click(ui.find(win, "Continue", "push button"))
    main = ui.window(title_of("alice"))
    ui.wait_text(ui.find(main, "Server state", "label"), lambda t: t == "connected",
                 "Server state 'connected'")
    check(os.path.exists(os.path.join(data_dir, "identity.key")),
          "no identity.key in %s after the assistant" % data_dir)
    env.peer("bob").expect("online", name="alice")  # logged in under the name typed
    ui.shot("main", main)


@scenario
def login(env):
    """A data dir that `mim` made: mim-gtk starts straight into the main window, logs in
    (bob sees alice online) and lists bob as available."""
    env.start()
    data_dir = env.session.path("alice-made-by-mim")
    made = env.peer("alice", data_dir)
    made.quit()
    bob = env.peer("bob")
    ui = env.gtk(data_dir, "--name", "alice", "--server", env.server.address)
    win = ui.window(title_of("alice"), timeout=ui_module.WINDOW_TIMEOUT)
    ui.wait_text(ui.find(win, "Server state", "label"), lambda t: t == "connected",
                 "Server state 'connected'")
    seen = bob.expect("online", name="alice")
    check(seen["fingerprint"] == made.ready["fingerprint"],
          "mim-gtk logged in with another key than the one mim made: %s, not %s"
          % (seen["fingerprint"], made.ready["fingerprint"]))
    contact_row(ui, win, "bob", "available")
    check(not ui.windows_titled("Welcome to mim"), "the assistant showed on a data dir with a key")
    ui.shot("main", win)


@scenario
def message_in(env):
    """A message from a `mim --json` peer: counted in the title while not in view, then shown
    as "bob: TEXT" once bob's conversation is opened."""
    env.start()
    bob, ui, win = chat_with_bob(env, "hello from the terminal")
    ui.window(title_of("alice", unread=1))
    contact_row(ui, win, "bob", "1 unread")
    ui.shot("unread", win)
    messages = open_conversation(ui, win, "bob")
    ui.find(messages, "bob: hello from the terminal", "list item")
    ui.window(title_of("alice"))
    ui.find(messages, "Today", "list item")
    ui.shot("shown", win)


@scenario
def reply_delivered(env):
    """A reply typed in the window reaches the `mim --json` peer, and its row says
    (delivered)."""
    env.start()
    bob, ui, win = chat_with_bob(env, "are you there?")
    messages = open_conversation(ui, win, "bob")
    ui.find(messages, "bob: are you there?", "list item")
    start = bob.mark()
    ui.type_into(ui.find(win, "Message", "text"), "yes, in the window")
    ui.click(ui.find(win, "Send", "push button"))
    got = bob.expect("message", start, text="yes, in the window")
    check(got["from"] == "alice", "the reply came from %r" % got["from"])
    ui.find(messages, "alice: yes, in the window (delivered)", "list item")
    path = ui.shot("delivered", win)
    if env.args.doc_shot:
        shutil.copyfile(path, env.args.doc_shot)


def stage_key_change(env):
    """alice (the window) has bob pinned and his conversation open; bob is reinstalled (the
    admin frees the name, a new key registers it). Returns (ui, win, new_bob)."""
    bob, ui, win = chat_with_bob(env, "before my new key")
    messages = open_conversation(ui, win, "bob")
    ui.find(messages, "bob: before my new key", "list item")
    bob.quit()
    contact_row(ui, win, "bob", "offline")
    env.server.free_name("bob")
    new_bob = env.peer("bob", env.session.path("bob-new-key"))
    return ui, win, new_bob


@scenario
def key_change_trust(env):
    """bob's new key: the banner "Key changed" with the new fingerprint, Verify shows the
    safety number that bob computes too, a message waits, and Trust sends it."""
    env.start()
    ui, win, new_bob = stage_key_change(env)
    new_fp = new_bob.ready["fingerprint"]
    banner = ui.find(win, "Key changed")
    ui.wait_text(ui.find(banner, lambda t: new_fp in (t or ""), "label"), lambda t: new_fp in t,
                 "the new fingerprint in the banner")
    ui.type_into(ui.find(win, "Message", "text"), "held for the new key")
    ui.click(ui.find(win, "Send", "push button"))
    ui.find(ui.find(win, "Messages", "list"), "alice: held for the new key (queued)",
            "list item")
    ui.shot("banner", win)

    ui.click(ui.find(banner, "Verify", "push button"))
    dialog = ui.window("Verify bob")
    shown = ui.wait_text(ui.find(dialog, "Safety number", "label"),
                         lambda t: re.fullmatch(r"(\d{5}\s+){11}\d{5}", t.strip()) is not None,
                         "12 groups of 5 digits in 'Safety number'")
    new_bob.cmd(cmd="verify", **{"with": "alice"}, tag="v")
    theirs = new_bob.expect("safety_number", tag="v")["number"]
    check(shown.split() == theirs.split(),
          "the window's safety number %r is not bob's %r" % (shown, theirs))
    ui.shot("verify", dialog)
    ui.click(ui.find(dialog, "Close", "push button"))

    check(new_bob.find("message", text="held for the new key") is None,
          "the new key got the message before Trust")
    ui.click(ui.find(banner, "Trust", "push button"))
    new_bob.expect("message", text="held for the new key")
    ui.find(ui.find(win, "Messages", "list"), "alice: held for the new key (delivered)",
            "list item")
    check(not ui.visible(win, "Key changed"), "the banner is still shown after Trust")
    ui.shot("trusted", win)


@scenario
def file_receive(env):
    """bob sends a file: its row "File NAME" with Accept; accepted, the progress bar
    "Progress NAME" fills, Open folder shows, and the bytes are bob's."""
    env.start()
    bob, ui, win = chat_with_bob(env, "a file comes", "--auto-accept", "0")  # alice decides
    messages = open_conversation(ui, win, "bob")
    source = env.session.path("report.bin")
    with open(source, "wb") as f:
        f.write(os.urandom(FILE_SIZE))
    bob.cmd(cmd="send_file", to="alice", path=source, tag="f1")
    offer = bob.expect("sent", tag="f1")
    row = ui.find(messages, ui_module.prefix("File report.bin"))
    ui.shot("offer", win)
    ui.click(ui.find(row, "Accept", "push button"))
    ui.find(win, "Progress report.bin")
    ui.wait_value(win, "Progress report.bin", lambda value, top: value >= top > 0,
                  "a full progress bar")
    done = bob.expect("file_done", id=offer["id"], timeout=20)
    ui.find(win, "Open folder", "push button")
    ui.shot("done", win)
    check(done["bytes"] == FILE_SIZE, "bob's file_done says %d bytes" % done["bytes"])
    saved = env.session.path("gtk-alice-downloads/report.bin")  # GtkApp's --download-dir
    with open(saved, "rb") as got, open(source, "rb") as sent:
        check(got.read() == sent.read(), "the window saved another file than bob's")


@scenario
def file_send(env):
    """A file chosen with "Send file" (GTK's own file chooser: no portal on the test's bus; the
    path typed into its location field, Ctrl+L): bob gets the offer, and the window's progress bar
    "Progress NAME" fills as bob's file_done says the bytes arrived whole."""
    env.start()
    bob, ui, win = chat_with_bob(env, "send me the report")
    open_conversation(ui, win, "bob")
    source = env.session.path("report.bin")
    with open(source, "wb") as f:
        f.write(os.urandom(FILE_SIZE))
    ui.click(ui.find(win, "Send file", "push button"))
    chooser = ui.window("Send a file")
    ui.wait_focus(chooser)
    ui.press_ctrl(ui_module.KEYCODE_L)  # its location field, whatever folder it opened on
    ui.wait_focus(ui.find(chooser, "GtkFileChooserEntry", "text"))
    ui.type_keys(source)
    ui.wait_text(ui.find(chooser, "GtkFileChooserEntry", "text"), lambda t: t == source,
                 "the path in the file chooser's location field")
    ui.shot("chooser", chooser)
    ui.press_return()
    offer = bob.expect("file_offer", **{"from": "alice"})
    check(offer["name"] == "report.bin" and offer["size"] == FILE_SIZE,
          "bob was offered %r" % offer)
    if not offer["accepted"]:
        bob.cmd(cmd="accept_file", id=offer["id"])
    ui.find(win, ui_module.prefix("File report.bin"))
    ui.find(win, "Progress report.bin")
    done = bob.expect("file_done", id=offer["id"], timeout=20)
    ui.wait_value(win, "Progress report.bin", lambda value, top: value >= top > 0,
                  "a full progress bar")
    ui.shot("sent", win)
    with open(done["path"], "rb") as got, open(source, "rb") as sent:
        check(got.read() == sent.read(), "bob's copy differs from the file sent")


@scenario
def room_chat(env):
    """Issue 16: a `mim --json` peer makes a room with the window's user and writes in it: the
    window lists "#lab, 2 members" and shows the message with its sender; the window's reply
    goes with room_send (never to "#lab" as a name) and bob gets it as the room's. Then bob's
    important broadcast shows marked in his conversation, and Acknowledge reaches him."""
    env.start()
    bob = env.peer("bob")
    ui, win = env.gtk_logged_in("alice")
    bob.expect("online", name="alice")
    bob.cmd(cmd="room_create", room="lab", members=["alice"], tag="r1")
    bob.expect("room", tag="r1")
    bob.cmd(cmd="room_send", room="lab", text="hello room", tag="r2")
    bob.expect("delivered", tag="r2")
    ui.select(contact_row(ui, win, "#lab", "2 members"))
    messages = ui.find(win, "Messages", "list")
    ui.find(messages, "bob: hello room", "list item")
    ui.shot("room", win)
    start = bob.mark()
    ui.type_into(ui.find(win, "Message", "text"), "hello from the window")
    ui.click(ui.find(win, "Send", "push button"))
    got = bob.expect("message", start, text="hello from the window")
    check(got["from"] == "alice" and got.get("room") == "lab",
          "bob got the reply as %r, not as the room's" % got)
    ui.find(messages, "alice: hello from the window (delivered to 1 of 1)", "list item")
    ui.shot("reply", win)

    bob.cmd(cmd="broadcast", text="fire drill at 3", important=True, tag="b1")
    sent = bob.expect("broadcast", tag="b1")
    messages = open_conversation(ui, win, "bob")
    row = ui.find(messages, "bob: fire drill at 3 (important broadcast)", "list item")
    ui.click(ui.find(row, "Acknowledge", "push button"))
    bob.expect("broadcast_ack", id=sent["id"], **{"from": "alice"})
    ui.find(messages, "bob: fire drill at 3 (important broadcast, acknowledged)", "list item")
    ui.shot("acknowledged", win)
    window_makes_room_and_broadcasts(ui, win, bob)


def window_makes_room_and_broadcasts(ui, win, bob):
    """room_chat's end: "New room" (name and members) makes a room that bob is told of, and
    "Broadcast" reaches bob marked as a broadcast."""
    ui.click(ui.find(win, "New room", "push button"))
    dialog = ui.window("New room")
    ui.type_into(ui.find(dialog, "Room name", "text"), "ops")
    ui.type_into(ui.find(dialog, "Members", "text"), "bob")
    ui.shot("new-room", dialog)
    ui.click(ui.find(dialog, "Create", "push button"))
    made = bob.expect("room", room="ops")
    check("alice" in made["members"] and "bob" in made["members"],
          "the room bob was told of has members %r" % made["members"])
    contact_row(ui, win, "#ops", "2 members")
    ui.click(ui.find(win, "Broadcast", "push button"))
    dialog = ui.window("Broadcast")
    ui.type_into(ui.find(dialog, "Broadcast text", "text"), "lunch is ready")
    ui.click(ui.find(dialog, "Send", "push button"))
    got = bob.expect("message", text="lunch is ready")
    check(got.get("broadcast") is True and got["from"] == "alice",
          "bob got the window's broadcast as %r" % got)


# ---- main -------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--mim", required=True, help="the mim binary (the JSON peers)")
    ap.add_argument("--presence", required=True, help="the mim-presence binary")
    ap.add_argument("--mim-gtk", required=True, help="the mim-gtk binary")
    ap.add_argument("--build-dir", required=True, help="temporary files go to BUILD/tmp")
    ap.add_argument("--shots-dir", help="screenshots (default: BUILD/gtk-shots)")
    ap.add_argument("--doc-shot", help="reply_delivered: also copy its main window here")
    args = ap.parse_args(argv)
    args.shots_dir = args.shots_dir or os.path.join(args.build_dir, "gtk-shots")
    return args


def main(argv):
    args = parse_args(argv)
    env = Env(args, args.scenario)
    try:
        with env.session:
            try:
                SCENARIOS[args.scenario](env)
                env.finish()
            except Exception:
                if env.ui is not None:
                    _save_failure(env)
                raise
    except Exception:
        traceback.print_exc()
        print("FAIL gtk/%s (logs above; screenshots in %s)" % (args.scenario, args.shots_dir))
        return 1
    print("PASS gtk/%s (screenshots in %s)" % (args.scenario, args.shots_dir))
    return 0


def _save_failure(env):
    """What the window showed when the check failed: its tree, and a screenshot."""
    try:
        print(env.ui.dump(), flush=True)
        env.ui.shot("FAILED")
    except Exception as failure:  # the window may be gone: say so and go on
        print("no tree or screenshot of the failure: %r" % failure, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
