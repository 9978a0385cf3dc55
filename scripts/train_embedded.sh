#!/usr/bin/env bash
# The recipe of the embedded default model (docs/embedded-model.md): a pointing curriculum of big
# discs, small discs, picking a disc by colour (stages 1-4), then the sims mixture (stages 5-20;
# stage 13 adds the zoom step's GUI windows, stage 14 its windows of camera frames, stage 15 windows
# that answer "There are none." when they miss the target, stage 16 windows of screens at nearly
# their own scale, stage 17 more pointing at lower rates, stage 18 tiles of shape scenes for
# counting on tiles, stage 19 the same at lower rates with the other sources' shares back, and the
# last one, configs/embedded.yaml, phone typing screens that teach copying the typed word);
# evaluates the result with that zoom step, its search and its five voting windows, counting on
# tiles (shipping it is a separate command).
#   bash scripts/train_embedded.sh   # data + tokenizers (once), the stages (each resumes), evaluate
# Re-running continues: data already written is kept, a finished stage is skipped (its final/
# exists), an interrupted one resumes from its last checkpoint (every 100-200 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa HF_HUB_OFFLINE=1
stage() {  # stage CONFIG RUN_DIR
    [ -f "$2/final/config.json" ] && return 0
    local resume=""; ls "$2"/checkpoints/step_* >/dev/null 2>&1 && resume="--resume"
    molmo-agent train "$1" $resume
}
# Stages 1-4 end in checkpoints/embedded-curriculum-binding, stages 5-7 in
# checkpoints/embedded-curriculum-mix3, stage 8 in checkpoints/embedded-curriculum-mix4, stage 9 in
# checkpoints/embedded-curriculum-mix5, stage 10 in checkpoints/embedded-curriculum-stage10,
# stage 11 in checkpoints/embedded-curriculum-stage11, stage 12 in
# checkpoints/embedded-curriculum-stage12, stage 13 in checkpoints/embedded-curriculum-stage13,
# stage 14 in checkpoints/embedded-curriculum-stage14, stage 15 in
# checkpoints/embedded-curriculum-stage15, stage 16 in checkpoints/embedded-curriculum-stage16,
# stage 17 in checkpoints/embedded-curriculum-stage17, stage 18 in
# checkpoints/embedded-curriculum-stage18 and stage 19 in checkpoints/embedded-curriculum-stage19,
# all kept in the repository: the recipe starts after the newest one present (on a fresh machine,
# stage 20: its data ~7 min on 2 cores + stage 20 7-12 min + evaluation 11 min); delete them
# to run those stages again (the data of every stage is then written, 70-85 min).
first=1
for kept in binding:5 mix3:8 mix4:9 mix5:10 stage10:11 stage11:12 stage12:13 stage13:14 stage14:15 stage15:16 stage16:17 stage17:18 stage18:19 stage19:20; do
    if [ -f "checkpoints/embedded-curriculum-${kept%%:*}/config.json" ]; then first="${kept##*:}"; fi
done
# the data (keeps what is already written): only the last stage's sources when only it is left
if [ "$first" -ge 20 ]; then
    python -m molmo_agent.embedded.prepare runs/embedded-data --for configs/embedded.yaml
else
    python -m molmo_agent.embedded.prepare runs/embedded-data
fi
keep() {  # keep RUN_DIR NAME: a stage's export becomes checkpoints/embedded-curriculum-NAME
    mkdir -p "checkpoints/embedded-curriculum-$2" && cp "$1"/final/* "checkpoints/embedded-curriculum-$2/"
}
if [ "$first" -le 4 ]; then
    stage configs/embedded-curriculum-stage1.yaml runs/embedded-stage1     # big discs: learn to point
    stage configs/embedded-curriculum-stage2.yaml runs/embedded-stage2     # small discs
    stage configs/embedded-curriculum-binding.yaml runs/embedded-binding   # pick a disc by colour
    stage configs/embedded-curriculum-binding2.yaml runs/embedded-binding2 # ... continued
    molmo-agent train configs/embedded-curriculum-binding2.yaml \
        --export-checkpoint runs/embedded-binding2/checkpoints/step_001000 --output checkpoints/embedded-curriculum-binding
fi
if [ "$first" -le 7 ]; then
    stage configs/embedded-curriculum-mix.yaml runs/embedded-mix       # the sims mixture
    stage configs/embedded-curriculum-mix2.yaml runs/embedded-mix2     # ... continued, more scenes
    stage configs/embedded-curriculum-mix3.yaml runs/embedded-mix3     # ... continued, lower learning rates
    keep runs/embedded-mix3 mix3
fi
kept_stage() {  # kept_stage N CONFIG RUN_DIR NAME: stage N (unless a later state is kept), export kept as NAME
    [ "$first" -le "$1" ] || return 0
    stage "$2" "$3"
    keep "$3" "$4"
}
kept_stage 8 configs/embedded-curriculum-mix4.yaml runs/embedded-stage8 mix4          # fresh scenes, longer
kept_stage 9 configs/embedded-curriculum-mix5.yaml runs/embedded-stage9 mix5          # fresh scenes again
kept_stage 10 configs/embedded-curriculum-stage10.yaml runs/embedded-stage10 stage10  # the same scenes, lower learning rates
kept_stage 11 configs/embedded-curriculum-stage11.yaml runs/embedded-stage11 stage11  # fresh scenes again
kept_stage 12 configs/embedded-curriculum-stage12.yaml runs/embedded-stage12 stage12  # fresh scenes again
kept_stage 13 configs/embedded-curriculum-stage13.yaml runs/embedded-stage13 stage13  # fresh scenes + zoomed GUI windows
kept_stage 14 configs/embedded-curriculum-stage14.yaml runs/embedded-stage14 stage14  # + zoomed windows of camera frames
kept_stage 15 configs/embedded-curriculum-stage15.yaml runs/embedded-stage15 stage15  # + windows that miss the target
kept_stage 16 configs/embedded-curriculum-stage16.yaml runs/embedded-stage16 stage16  # fresh blocks + windows of screens at their own scale
kept_stage 17 configs/embedded-curriculum-stage17.yaml runs/embedded-stage17 stage17  # more pointing, lower rates
kept_stage 18 configs/embedded-curriculum-stage18.yaml runs/embedded-stage18 stage18  # + tiles of shape scenes
kept_stage 19 configs/embedded-curriculum-stage19.yaml runs/embedded-stage19 stage19  # tiles and the rest, lower rates
shipped=runs/embedded-stage20
stage configs/embedded.yaml "$shipped"             # + phone typing screens: the shipped model
# the model card's protocol (200 episodes a sim, 95 % intervals in results.json), with the zoom step
# the model is shipped with (molmo_agent.zoom: 240 px windows of screens, 120 px of camera frames,
# a search over the frame when a window answers "There are none.", and five windows around each
# first point that vote on the point, molmo_agent.zoom.vote_boxes) and counting on the 4x4 grid of
# tiles that vote (molmo_agent.zoom.tile_grid, tile_votes): about 11 minutes
python -m molmo_agent.embedded.evaluate "$shipped/final" --zoom 240 --zoom-search --zoom-votes 5 --count-tiles --out "$shipped/eval" \
    --episodes 200 --phone-episodes 50 --pointing-images 200 --scene-images 100
echo "not shipped automatically: compare $shipped/eval/results.json with docs/embedded-model.md, then"
echo "  python -m molmo_agent.embedded.ship $shipped/final --run-dir $shipped --eval $shipped/eval --recipe scripts/train_embedded.sh"
echo "  (the record takes the evaluation's zoom_window, 240, its zoom search, its 5 zoom votes and counting on tiles, which the demo and the CLI then use)"
