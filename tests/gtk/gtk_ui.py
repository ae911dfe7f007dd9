"""Reads and drives mim-gtk's window through the accessibility tree (AT-SPI, python3-pyatspi):
what a screen reader sees is what the tests check, by the accessible names of
docs/GTK.md's contract (window titles, "Contacts", "Messages", "Send", ...).

Import this only after Session.start_desktop(): pyatspi connects to the session bus named by
DBUS_SESSION_BUS_ADDRESS when it is imported. Every wait polls the live tree with a deadline.
"""

import os

import pyatspi

from gtk_session import TestFailure, wait_for

MAX_NODES = 4000  # a walk of the tree stops here: the window never has that many
WINDOW_TIMEOUT = 20.0  # s: mim-gtk's first window (start-up, AT-SPI registration)
STEP_TIMEOUT = 10.0  # s: anything else the window shows after an event
KEYSYM_RETURN = 0xFF0D
KEYCODE_CONTROL_L = 37  # X keycodes of Xvfb's default (evdev) keymap
KEYCODE_L = 46


def exact(name):
    return lambda text: text == name


def prefix(start):
    return lambda text: text is not None and text.startswith(start)


def _as_match(name):
    return name if callable(name) else exact(name)


def text_of(node):
    """What a node says: its Text content (a label's or an entry's words), else its name."""
    try:
        text = node.queryText()
        return text.getText(0, text.characterCount)  # GTK 4.8 ignores -1 as "to the end"
    except (NotImplementedError, Exception):  # no Text interface, or the node went away
        return node.name


def walk(root):
    """The nodes under root (itself included), depth first, at most MAX_NODES."""
    return (node for node, _depth in walk_depth(root))


def walk_depth(root):
    """(node, depth) under root, depth first, at most MAX_NODES. Nodes that vanish while walked
    (a row removed) are skipped."""
    stack, seen = [(root, 0)], 0
    while stack and seen < MAX_NODES:
        node, depth = stack.pop()
        seen += 1
        yield node, depth
        try:
            children = [node.getChildAtIndex(i) for i in range(node.childCount)]
        except Exception:  # the node went away meanwhile
            continue
        stack.extend((child, depth + 1) for child in reversed(children) if child is not None)


def _role(node):
    try:
        return node.getRoleName()
    except Exception:
        return None


def _name(node):
    try:
        return node.name
    except Exception:
        return None


class Ui:
    """The accessible side of one mim-gtk process (matched by its pid)."""

    def __init__(self, session, app, shots_dir, test_name):
        self.session = session
        self.app = app
        self.shots_dir = shots_dir
        self.test_name = test_name

    def _app_node(self):
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            node = desktop.getChildAtIndex(i)
            try:
                if node is not None and node.get_process_id() == self.app.pid:
                    return node
            except Exception:
                continue
        return None

    def windows(self):
        app = self._app_node()
        if app is None:
            return []
        return [w for w in (app.getChildAtIndex(i) for i in range(app.childCount))
                if w is not None]

    def window(self, title, timeout=STEP_TIMEOUT):
        """The window (or dialog) whose title matches; fails with the titles seen."""
        match = _as_match(title)

        def probe():
            self.app.check_running()
            return next((w for w in self.windows() if match(_name(w))), None)

        try:
            return wait_for("a window titled %s" % _describe(title), probe, timeout)
        except TestFailure as failure:
            raise TestFailure("%s; windows: %r" % (failure, [_name(w) for w in self.windows()]))

    def find_all(self, root, name, role=None):
        match = _as_match(name)
        return [n for n in walk(root)
                if (role is None or _role(n) == role) and match(_name(n))]

    def find(self, root, name, role=None, timeout=STEP_TIMEOUT):
        """The first node under root with that accessible name (and role), waited for."""
        def probe():
            self.app.check_running()
            found = self.find_all(root, name, role)
            return found[0] if found else None

        try:
            return wait_for("%s %s" % (role or "a node", _describe(name)), probe, timeout)
        except TestFailure as failure:
            raise TestFailure("%s\n%s" % (failure, self.dump(root)))

    def wait_gone(self, root, name, role=None, timeout=STEP_TIMEOUT):
        wait_for("%s %s to go away" % (role or "a node", _describe(name)),
                 lambda: not self.visible(root, name, role), timeout)

    def visible(self, root, name, role=None):
        """Whether a node of that name is there and showing (hidden widgets may stay in the
        tree with SHOWING cleared)."""
        return any(_has_state(node, pyatspi.STATE_SHOWING)
                   for node in self.find_all(root, name, role))

    def wait_text(self, node, match, what, timeout=STEP_TIMEOUT):
        """Waits until text_of(node) satisfies match; returns the text (a failure says the
        last text seen)."""
        seen = []

        def probe():
            seen.append(text_of(node))
            return seen[-1] if seen[-1] is not None and match(seen[-1]) else None

        try:
            return wait_for(what, probe, timeout)
        except TestFailure as failure:
            raise TestFailure("%s; its text was %r" % (failure, seen[-1] if seen else None))

    def wait_value(self, root, name, match, what, timeout=STEP_TIMEOUT):
        """Waits until match(value, maximum) holds for the Value of the node named `name` under
        root (a progress bar). Found again at each poll: the window may redraw the row."""
        def probe():
            for node in self.find_all(root, name):
                try:
                    value = node.queryValue()
                    now, top = value.currentValue, value.maximumValue
                except Exception:  # gone meanwhile, or no Value: the next poll sees
                    continue
                if match(now, top):
                    return (now, top)
            return None
        return wait_for(what, probe, timeout)

    def windows_titled(self, title):
        match = _as_match(title)
        return [w for w in self.windows() if match(_name(w))]

    def select(self, row):
        """Selects a list row (the Selection of its list: what a click on it does)."""
        parent = row.parent
        index = row.getIndexInParent()
        try:
            parent.querySelection().selectChild(index)
        except NotImplementedError:
            self.click(row)

    def click(self, node):
        """Its first action (a button's "click", a row's "activate"), else a mouse click at its
        centre (XTest through the AT-SPI registry)."""
        try:
            action = node.queryAction()
            if action.nActions > 0:
                action.doAction(0)
                return
        except NotImplementedError:
            pass
        x, y, width, height = node.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        pyatspi.Registry.generateMouseEvent(x + width // 2, y + height // 2, "b1c")

    def type_into(self, node, text):
        """Puts text into an entry as if typed (EditableText), replacing what was there."""
        node.queryEditableText().setTextContents(text)
        wait_for("the entry to hold %r" % text, lambda: text_of(node) == text, STEP_TIMEOUT)

    def wait_focus(self, window):
        """Waits until a widget of window has the keyboard focus: GTK 4.8 does not mark a
        dialog ACTIVE without a window manager, but its focused widget FOCUSED."""
        wait_for("a focused widget in %r" % _name(window),
                 lambda: any(_has_state(n, pyatspi.STATE_FOCUSED) for n in walk(window)),
                 STEP_TIMEOUT)

    def type_keys(self, text):
        """Types text as key presses (XTest, through the AT-SPI registry) where the keyboard
        focus is (wait_focus first): for widgets with no accessible entry until typed into."""
        pyatspi.Registry.generateKeyboardEvent(0, text, pyatspi.KEY_STRING)

    def press_ctrl(self, keycode):
        """Ctrl + the key of that X keycode (Xvfb's built-in keymap), e.g. KEYCODE_L."""
        registry = pyatspi.Registry
        registry.generateKeyboardEvent(KEYCODE_CONTROL_L, None, pyatspi.KEY_PRESS)
        registry.generateKeyboardEvent(keycode, None, pyatspi.KEY_PRESSRELEASE)
        registry.generateKeyboardEvent(KEYCODE_CONTROL_L, None, pyatspi.KEY_RELEASE)

    def press_return(self):
        pyatspi.Registry.generateKeyboardEvent(KEYSYM_RETURN, None, pyatspi.KEY_SYM)

    def shot(self, label, window=None):
        """Saves the screen as SHOTS/<test>-<label>.png (cropped to window's size when given)
        so that a person can look at the state a check saw."""
        width = height = None
        if window is not None:
            try:
                _x, _y, width, height = window.queryComponent().getExtents(
                    pyatspi.DESKTOP_COORDS)
            except Exception:
                width = height = None
        path = os.path.join(self.shots_dir, "%s-%s.png" % (self.test_name, label))
        return self.session.screenshot(path, width, height)

    def dump(self, root=None):
        """The tree as indented "role 'name'" lines: printed when a check fails."""
        roots = [root] if root is not None else self.windows()
        lines = []
        for top in roots:
            for node, depth in walk_depth(top):
                lines.append("%s%s %r" % ("  " * depth, _role(node), _name(node)))
        return "accessible tree:\n" + "\n".join(lines)


def _has_state(node, state):
    try:
        return node.getState().contains(state)
    except Exception:  # the node went away meanwhile
        return False


def _describe(name):
    return "matching a rule" if callable(name) else repr(name)
