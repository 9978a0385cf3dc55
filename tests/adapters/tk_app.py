"""A real Tk window for the desktop tests: buttons whose callbacks record clicks to a file.

    python tests/adapters/tk_app.py --out DIR --x 300 --y 200 --buttons Save,Cancel,Open

Writes DIR/geometry.json ({button: [root_x, root_y, width, height]}, screen coordinates from
winfo_rootx/rooty) once the window is mapped, and appends one line per click to DIR/clicks.txt
("Save"), and "typed:<text>" when Return is pressed in the entry field.
"""

import argparse
import json
import os
import tkinter as tk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--x", type=int, default=100)
    parser.add_argument("--y", type=int, default=100)
    parser.add_argument("--buttons", default="Save,Cancel,Open")
    args = parser.parse_args()
    clicks = os.path.join(args.out, "clicks.txt")

    def record(line: str) -> None:
        with open(clicks, "a") as f:
            f.write(line + "\n")

    root = tk.Tk()
    root.title("molmo-agent test app")
    root.geometry(f"+{args.x}+{args.y}")
    buttons = {}
    for name in args.buttons.split(","):
        buttons[name] = tk.Button(root, text=name, width=14, command=lambda n=name: record(n))
        buttons[name].pack(padx=30, pady=14)
    entry = tk.Entry(root, width=20)
    entry.pack(padx=30, pady=14)
    entry.bind("<Return>", lambda _: record("typed:" + entry.get()))

    def publish_geometry() -> None:
        root.update_idletasks()
        boxes = {n: [b.winfo_rootx(), b.winfo_rooty(), b.winfo_width(), b.winfo_height()] for n, b in buttons.items()}
        boxes["entry"] = [entry.winfo_rootx(), entry.winfo_rooty(), entry.winfo_width(), entry.winfo_height()]
        tmp = os.path.join(args.out, "geometry.json.tmp")
        with open(tmp, "w") as f:
            json.dump(boxes, f)
        os.replace(tmp, os.path.join(args.out, "geometry.json"))

    root.after(300, publish_geometry)
    root.mainloop()


if __name__ == "__main__":
    main()
