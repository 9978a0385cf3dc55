"""A real Tk window showing one picture pixel for pixel (e.g. a generated sims GUI screen); records clicks.

    python tests/adapters/tk_screen_app.py --out DIR --image screen.png --x 160 --y 90

The window has no decorations and sits with its top-left image pixel at screen (x, y). Writes
DIR/geometry.json ({"window": [root_x, root_y, width, height]}) once mapped, and appends one
line "x_root y_root" (screen coordinates of the pointer) per left click to DIR/clicks.txt.
"""

import argparse
import json
import os
import tkinter as tk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--image", required=True, help="PNG file to show")
    parser.add_argument("--x", type=int, default=0)
    parser.add_argument("--y", type=int, default=0)
    parser.add_argument("--title", default="molmo-agent sims screen")
    args = parser.parse_args()

    root = tk.Tk()
    root.title(args.title)
    root.overrideredirect(True)  # no frame: the picture's pixel (0, 0) is the window's
    photo = tk.PhotoImage(file=args.image)
    root.geometry(f"{photo.width()}x{photo.height()}+{args.x}+{args.y}")
    label = tk.Label(root, image=photo, borderwidth=0, highlightthickness=0, padx=0, pady=0)
    label.pack()

    def record(event) -> None:
        with open(os.path.join(args.out, "clicks.txt"), "a") as f:
            f.write(f"{event.x_root} {event.y_root}\n")

    label.bind("<Button-1>", record)

    def publish_geometry() -> None:
        root.update_idletasks()
        box = [label.winfo_rootx(), label.winfo_rooty(), label.winfo_width(), label.winfo_height()]
        tmp = os.path.join(args.out, "geometry.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"window": box}, f)
        os.replace(tmp, os.path.join(args.out, "geometry.json"))

    root.after(300, publish_geometry)
    root.mainloop()


if __name__ == "__main__":
    main()
