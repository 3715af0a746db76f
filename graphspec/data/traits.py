"""What a dataset op declares to ``kind: data`` specs (``register(..., traits=...)``, read from
``OpDef.traits`` by ``graphspec.data.spec``), so the spec front end keeps no list of datasets."""

#: its ``frames_per_clip`` keeps the frames ``UniformTemporalSubsample(n)`` would keep
#: (``UniformFrameFilter``): a data spec derives it from the transform without changing a pixel
UNIFORM_FRAMES_PER_CLIP = "uniform_frames_per_clip"
#: it seeds torch for each sample's transform from (seed, epoch, video, clip): a data spec builds
#: the transform unseeded, so its draws do not depend on the number of DataLoader workers
PER_SAMPLE_SEEDS = "per_sample_seeds"
#: both, as the clip datasets built on ``LabeledVideoDataset``'s reader declare them
UNIFORM_CLIP_DATASET = (UNIFORM_FRAMES_PER_CLIP, PER_SAMPLE_SEEDS)
