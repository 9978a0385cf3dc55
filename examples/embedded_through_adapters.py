"""The same shipped model through each adapter, in one table.

    python examples/embedded_through_adapters.py --episodes 5

Runs examples/embedded_desktop.py (GuiClick screens in a Tk window on Xvfb, real clicks),
examples/embedded_gym_miniwob.py (MiniWoB++ tasks in headless chromium) and
examples/embedded_ros2_tabletop.py (tabletop RGB-D frames through the ROS 2 grounding core), then
prints, per adapter, how often the model succeeded and whether every action landed exactly where
the model pointed. The embedded model is tiny (docs/embedded-model.md): expect low success rates
with every path check passing. An adapter whose system tools are missing is listed as skipped.
"""

import argparse
import shutil

import embedded_desktop
import embedded_gym_miniwob
import embedded_ros2_tabletop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3, help="screens / episodes / frames per adapter")
    args = parser.parse_args()

    rows: list[dict] = []
    if shutil.which("Xvfb"):
        rows.append(embedded_desktop.run(screens=args.episodes))
    else:
        rows.append({"adapter": "desktop (Xvfb + Tk)", "task": "skipped: no Xvfb"})
    if shutil.which("chromium") and shutil.which("chromedriver"):
        rows.extend(embedded_gym_miniwob.run(episodes=args.episodes))
    else:
        rows.append({"adapter": "gymnasium (MiniWoB++, chromium)", "task": "skipped: no chromium/chromedriver"})
    rows.append(embedded_ros2_tabletop.run(episodes=args.episodes))

    print(f"\n{'adapter':34} {'task':22} {'success':>9}  actions where the model pointed")
    for row in rows:
        if "episodes" not in row:
            print(f"{row['adapter']:34} {row['task']}")
            continue
        path = row["path_ok"] if isinstance(row["path_ok"], str) else f"{row['path_ok']}/{row['episodes']} clicks"
        print(f"{row['adapter']:34} {row['task']:22} {row['successes']:>4}/{row['episodes']:<4}  {path}")


if __name__ == "__main__":
    main()
