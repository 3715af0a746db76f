"""The training loop of a compiled train spec (``Trainer``): one process, or one of many under
``torchrun`` (``DistributedDataParallel``, each rank reading its share of the videos through the
datasets' own rank-aware sharding, the global batch split over the ranks).

Checkpoints hold the model, optimizer, scheduler, scaler, epoch and step (within the epoch too),
and the random states; the data order is a function of (seed, epoch), so a resumed run repeats
the uninterrupted one (bit for bit on CPU in one process). SIGINT and SIGTERM finish the current
step, write a checkpoint and stop (exit 130). The run around the loop (its folder, resume, the
final weights and export) is ``run.train``.
"""
from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec import registry
from graphspec.spec.errors import Diagnostic, SpecError, format_path
from graphspec.transforms.spec import build as build_transform

from . import checkpoint as ckpt
from .distributed import World, any_rank, all_sum
from .metrics import MetricsLog, TopK, ViewAverage
from .spec import DATA_KEYS, CompiledTrain, checkpoint_path

#: clips per video and epoch of the clip samplers whose count does not depend on the durations
CLIPS_PER_VIDEO: dict[str, Callable[[dict], int]] = {
    "RandomClipSampler": lambda args: 1,
    "RandomMultiClipSampler": lambda args: args["num_clips"],
    "RandomMultiClipSamplerTruncateFromStart": lambda args: args["num_clips"],
    "ConstantClipsPerVideoSampler": lambda args: args["clips_per_video"] * args.get("augs_per_clip", 1),
}
#: the autocast dtype of each precision (fp32: no autocast)
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TrainError(Exception):
    """The run cannot go on as asked (launch-time checks, a run folder in the way); exit 2."""


@dataclass
class Outcome:
    run_dir: Path
    step: int
    epoch: int
    interrupted: bool = False
    checkpoint: Optional[Path] = None
    report: list[str] = field(default_factory=list)  # what the initial weights loaded
    main: bool = True  # rank 0 (the one that reports)
    export: Optional[str] = None  # what the export at the end wrote, or why it failed
    export_failed: bool = False  # the training finished (final.pt written), its export did not


def _located(result: CompiledTrain, message: str, path: tuple, hint: Optional[str] = None) -> SpecError:
    return SpecError([Diagnostic(message, path=path, code="train", hint=hint, unusable=True,
                                 location=result.smap.locate(path))])


class _Stop:
    """SIGINT / SIGTERM set a flag; the loop stops after the current step."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict = {}

    def __enter__(self) -> "_Stop":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    def __init__(self, result: CompiledTrain, run_dir: Path, world: World, progress: bool = True,
                 resuming: bool = False) -> None:
        self.result, self.spec, self.run_dir, self.world = result, result.spec, Path(run_dir), world
        self.progress = progress and world.main
        spec = self.spec
        split = world.size * spec.accumulate
        if spec.batch_size % split:
            raise _located(result, f"batch_size {spec.batch_size} does not divide over {world.size} ranks x "
                                   f"{spec.accumulate} accumulation steps", ("batch_size",),
                           hint=f"a multiple of {split}, or another --nproc-per-node")
        self.micro_batch = spec.batch_size // split
        if spec.precision == "fp16" and world.device.type != "cuda":
            raise _located(result, "fp16 autocast needs CUDA; on CPU use precision: bf16", ("precision",))
        self.names = list(result.model.inputs)
        self.log = MetricsLog(self.run_dir / "metrics.jsonl", world.main)

        torch.manual_seed(spec.seed)  # the same initial weights on every rank
        model = result.model.lower()
        self.report: list[str] = []
        if spec.init is not None and not resuming:  # (a resumed run's weights are in its checkpoint)
            from graphspec.checkpoints import WeightsError

            try:
                self.report = ckpt.init_weights(model, checkpoint_path(result), spec.init.reinit_mismatched)
            except WeightsError as exc:  # missing, unreadable, or another model's: at the key that names it
                raise _located(result, str(exc), ("init", "checkpoint")) from None
        self.memory_format = torch.channels_last_3d if spec.channels_last else torch.contiguous_format
        self.model = model.to(world.device, memory_format=self.memory_format)
        self.ddp = self.model
        if world.initialised:
            ids = [world.device.index] if world.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = _optimizer(self.model, spec.optimizer)
        self.loaders = {phase: self._loader(phase) for phase in spec.data}
        self.steps_per_epoch = self._steps_per_epoch()
        if self.steps_per_epoch == 0:  # (it read as a clip count that depends on the durations)
            workers = self.loaders["train"].num_workers
            raise _located(result, f"the training data holds no optimizer step per epoch: a step takes "
                                   f"{self.micro_batch * spec.accumulate} clips on each of {world.size} rank(s), "
                                   "and an epoch gives no full batch of them" + (
                                       f" (each of the {workers} DataLoader workers batches its own share of the "
                                       "videos)" if workers > 1 else ""), ("batch_size",),
                           hint="a smaller batch_size or accumulate, fewer workers, or more training videos")
        self.total_steps = spec.steps or (spec.epochs * self.steps_per_epoch if self.steps_per_epoch else None)
        if self.total_steps is None and (spec.schedule.op != "constant" or world.size > 1):
            raise _located(result, "the number of batches per epoch depends on the video durations (clip sampler "
                                   f"{result.parts['train'].sampler_call.op}): give steps: instead of epochs:",
                           ("epochs",), hint=f"samplers with a fixed count: {', '.join(CLIPS_PER_VIDEO)}")
        self._check_epoch_units()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.scaler = torch.amp.GradScaler(world.device.type, enabled=spec.precision == "fp16")
        self.loss_fn = _loss(spec.loss)
        self.mix = build_transform(result.mix) if result.mix is not None else None
        self.epoch, self.step, self.batches_in_epoch = 0, 0, 0
        self.classes = result.classes

    # -- data -----------------------------------------------------------------------------------
    def _loader(self, phase: str) -> torch.utils.data.DataLoader:
        part = self.result.parts[phase]
        update: dict[str, Any] = {"loader": part.spec.loader.model_copy(update={"batch_size": self.micro_batch})}
        dataset_op = registry.get(part.dataset_call.op) if part.dataset_call is not None else None
        if part.spec.seed is None and dataset_op is not None and "seed" in dataset_op.args:
            # the recipe's seed: the clips (order, choice, augmentation) are a function of (seed, epoch),
            # the same on every rank and after a resume
            update["seed"] = self.spec.seed
        part.spec = part.spec.model_copy(update=update)
        try:
            loader = part.build()
        except SpecError as err:  # the data is not where the spec says: keyed by its path in the recipe
            for d in err.diagnostics:
                own, d.path = format_path(d.path), ("data", phase) + tuple(d.path)
                if d.hint:  # its --set, as the recipe takes it
                    d.hint = d.hint.replace(f"--set {own}=", f"--set {format_path(d.path)}=")
            raise
        if phase != "train" and self.world.size > 1 and not isinstance(loader.dataset, torch.utils.data.IterableDataset):
            loader = rank_share(loader, self.world)  # a map-style dataset does not shard itself
        loader.worker_init_fn = _leave_signals_to_the_main_process
        return loader

    def _reseed(self, loader: torch.utils.data.DataLoader, epoch: int) -> None:
        """The loader's own draws (worker seeds, a map-style shuffle) from (seed, epoch), not from
        the global generator the model's randomness uses."""
        generator = torch.Generator().manual_seed(self.spec.seed * 1_000_003 + epoch)
        loader.generator = generator
        if hasattr(loader.sampler, "generator"):
            loader.sampler.generator = generator
        if hasattr(loader.dataset, "set_epoch"):
            loader.dataset.set_epoch(epoch)

    def _steps_per_epoch(self) -> Optional[int]:
        """Optimizer steps per epoch, the same on every rank (the fewest any rank has batches for)."""
        loader = self.loaders["train"]
        dataset, part = loader.dataset, self.result.parts["train"]
        if not isinstance(dataset, torch.utils.data.IterableDataset):
            if self.world.size > 1:  # its DataLoader would give every rank every sample
                raise _located(self.result, f"{part.dataset_call.op} is a map-style dataset, which does not shard "
                                            "itself over the ranks; train it on one process",
                               ("data", "train", "dataset"))
            per_rank = math.ceil(len(dataset) / self.world.size)
            return max(per_rank // self.micro_batch if loader.drop_last else math.ceil(per_rank / self.micro_batch),
                       0) // self.spec.accumulate
        rule = CLIPS_PER_VIDEO.get(part.sampler_call.op if part.sampler_call else "")
        videos = getattr(dataset, "num_videos", None)
        if rule is None or videos is None:
            return None
        from graphspec.data.utils import shard_bounds

        clips = rule(part.sampler_call.args)
        workers = max(loader.num_workers, 1)
        counts = []
        for rank in range(self.world.size):
            batches = 0
            for worker in range(workers):
                start, stop = shard_bounds(videos, rank * workers + worker, self.world.size * workers)
                n = (stop - start) * clips
                batches += n // self.micro_batch if loader.drop_last else math.ceil(n / self.micro_batch)
            counts.append(batches)
        return min(counts) // self.spec.accumulate

    def _check_epoch_units(self) -> None:
        """Schedule settings counted in epochs need the optimizer steps per epoch (a ``steps:``
        run on a clip sampler whose count depends on the video durations has none)."""
        schedule = self.spec.schedule
        in_epochs = [key for key, used in (("milestones", schedule.op == "step"),
                                           ("warmup_epochs", schedule.warmup_epochs > 0)) if used]
        if self.steps_per_epoch is None and in_epochs:
            raise _located(self.result, f"schedule.{in_epochs[0]} counts epochs, and the number of batches per "
                                        f"epoch depends on the video durations (clip sampler "
                                        f"{self.result.parts['train'].sampler_call.op})", ("schedule", in_epochs[0]),
                           hint=f"a clip sampler with a fixed count ({', '.join(CLIPS_PER_VIDEO)})"
                                + ("" if in_epochs[0] == "milestones" else ", or warmup_steps"))

    def model_inputs(self, batch: dict) -> list:
        """The model's arguments from a collated batch."""
        video = batch["video"]
        if len(self.names) == 1 and not isinstance(video, list):
            return [self._to(video)]
        views = iter(video if isinstance(video, list) else [video])
        return [self._to(batch[DATA_KEYS[n]] if n in DATA_KEYS else next(views)) for n in self.names]

    def _to(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.world.device, non_blocking=True)
        return x.contiguous(memory_format=self.memory_format) if x.ndim == 5 else x

    def _labels(self, batch: dict, phase: str) -> torch.Tensor:
        labels = batch["label"]
        if not isinstance(labels, torch.Tensor):
            labels = torch.as_tensor(labels)
        if self.classes is not None and labels.numel() and (labels.min() < 0 or labels.max() >= self.classes):
            bad = labels[(labels < 0) | (labels >= self.classes)][0].item()
            raise _located(self.result, f"the {phase} data has label {bad}; the model gives {self.classes} classes "
                                        f"(labels 0..{self.classes - 1})", ("num_classes",))
        return labels.to(self.world.device)

    # -- schedule ---------------------------------------------------------------------------------
    def _lr_factor(self, step: int) -> float:
        schedule, per_epoch = self.spec.schedule, self.steps_per_epoch or 0
        warmup = schedule.warmup_steps + round(schedule.warmup_epochs * per_epoch)
        if step < warmup:
            start = schedule.warmup_start_factor
            return start + (1 - start) * step / warmup
        if schedule.op == "cosine":
            span = max(self.total_steps - warmup, 1)
            floor = schedule.min_lr / self.spec.optimizer.lr
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step - warmup, span) / span))
        if schedule.op == "step":
            return schedule.gamma ** sum(step >= m * per_epoch for m in schedule.milestones)
        return 1.0

    def _autocast(self):
        dtype = AUTOCAST[self.spec.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.world.device.type, dtype=dtype)

    # -- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "epoch": self.epoch, "batches_in_epoch": self.batches_in_epoch, "step": self.step,
                "rng": ckpt.rng_state(), "rank_rng": self._gathered_rng(), "name": self.spec.name}

    def _gathered_rng(self) -> list:
        """Every rank's torch random states, CPU and its own GPU (each rank draws its own: mixes,
        dropout; ``rng`` holds rank 0's process-wide states, every GPU's as rank 0 saw it)."""
        state = {"cpu": torch.get_rng_state()}
        if self.world.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.world.device)
        if not self.world.initialised:
            return [state]
        import torch.distributed as dist

        states: list = [None] * self.world.size
        dist.all_gather_object(states, state)
        return states

    def save(self) -> Optional[Path]:
        state = self.state()  # every rank takes part in gathering the random states
        if not self.world.main:
            return None
        return ckpt.save(self.run_dir, self.step, state, self.spec.checkpoint.keep_last)

    def restore(self, path: Path) -> None:
        from graphspec.checkpoints import WeightsError

        try:
            state = ckpt.load(path)
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (WeightsError, RuntimeError, ValueError) as exc:  # damaged, or of another model
            first = str(exc).strip().splitlines()[0]
            if not first.startswith(str(path)):
                first = f"{path}: {first}"
            raise TrainError(f"cannot resume: {first}; move it aside to resume from the checkpoint before it") from None
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.batches_in_epoch, self.step = state["epoch"], state["batches_in_epoch"], state["step"]
        ckpt.set_rng_state(state["rng"])
        ranks = state["rank_rng"]
        if len(ranks) == self.world.size:  # (another world size: rank 0's states, as in ``rng``)
            own = ranks[self.world.rank]
            torch.set_rng_state(own["cpu"])
            if "cuda" in own and self.world.device.type == "cuda":
                torch.cuda.set_rng_state(own["cuda"], self.world.device)
        self.log.truncate_after(self.step)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, stop_at_step: Optional[int] = None) -> Outcome:
        """Train to the end (or, with ``stop_at_step``, pause there as if pre-empted)."""
        spec = self.spec
        with _Stop() as stop:
            while not self._done():
                finished = self._epoch(stop, stop_at_step)
                if not finished:
                    path = self.save()
                    return Outcome(self.run_dir, self.step, self.epoch, True, path, self.report)
                self.epoch += 1
                self.batches_in_epoch = 0
                last = self._done()
                if "val" in spec.data or "val_views" in spec.data:
                    if last or self.epoch % spec.eval.every == 0:
                        self.evaluate()
                due = last or self.epoch % spec.checkpoint.every == 0
                if due:
                    self.save()
                if not last and any_rank([stop.requested], self.world)[0]:  # a signal during the evaluation
                    path = ckpt.latest(self.run_dir) if due else self.save()
                    return Outcome(self.run_dir, self.step, self.epoch, True, path, self.report)
        return Outcome(self.run_dir, self.step, self.epoch, False, ckpt.latest(self.run_dir), self.report)

    def _done(self) -> bool:
        if self.spec.steps is not None:
            return self.step >= self.spec.steps
        return self.epoch >= self.spec.epochs

    def _epoch(self, stop: _Stop, stop_at_step: Optional[int]) -> bool:
        """One epoch from ``batches_in_epoch``; False when stopped before its end."""
        from tqdm import tqdm

        loader = self.loaders["train"]
        self._reseed(loader, self.epoch)
        batches = iter(loader)
        for _ in range(self.batches_in_epoch * self.spec.accumulate):  # a resumed epoch: the same batches
            next(batches)
        total = self.steps_per_epoch
        if self.spec.steps is not None:
            total = min(total or self.spec.steps, self.spec.steps - self.step + self.batches_in_epoch)
        title = f"epoch {self.epoch + 1}" + (f"/{self.spec.epochs}" if self.spec.epochs else "")
        bar = tqdm(total=total, initial=self.batches_in_epoch, desc=title, disable=not self.progress,
                   dynamic_ncols=True, file=sys.stderr)
        self.ddp.train()
        started, clips, loss_sum, loss_count = time.perf_counter(), 0, 0.0, 0
        try:
            while total is None or self.batches_in_epoch < total:
                micro = []
                for _ in range(self.spec.accumulate):
                    batch = next(batches, None)
                    if batch is None:
                        break
                    micro.append(batch)
                stopping, exhausted = any_rank([stop.requested, len(micro) < self.spec.accumulate], self.world)
                if exhausted:
                    return True
                lr = self.optimizer.param_groups[0]["lr"]  # the rate this step takes
                loss = self._step(micro)
                self.step += 1
                self.batches_in_epoch += 1
                clips += self.world.size * sum(_clips_in(batch) for batch in micro)  # (a last batch may be short)
                loss_sum, loss_count = loss_sum + loss, loss_count + 1
                rate = clips / max(time.perf_counter() - started, 1e-9)
                paused = stopping or (stop_at_step is not None and self.step >= stop_at_step)
                ended = (total is not None and self.batches_in_epoch >= total) or (
                    self.spec.steps is not None and self.step >= self.spec.steps)
                if self.step % self.spec.log_every == 0 or paused or ended:  # every window, and the last one
                    mean = all_sum(torch.tensor([loss_sum, loss_count], dtype=torch.float64), self.world)
                    self.log.write({"phase": "train", "epoch": self.epoch, "step": self.step,
                                    "loss": mean[0].item() / max(mean[1].item(), 1), "lr": lr, "clips_per_s": rate})
                    loss_sum, loss_count = 0.0, 0
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.3g}", clips_s=f"{rate:.1f}", refresh=False)
                if paused:
                    return False
                if ended:
                    return True
        finally:
            bar.close()
        return True

    def _step(self, micro: list[dict]) -> float:
        total = 0.0
        for i, batch in enumerate(micro):
            sync = i == len(micro) - 1 or not self.world.initialised
            with (contextlib.nullcontext() if sync else self.ddp.no_sync()):
                with self._autocast():
                    loss = self._loss(batch)
                self.scaler.scale(loss / len(micro)).backward()
            total += loss.item() / len(micro)
        if self.spec.clip_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return total

    def _loss(self, batch: dict) -> torch.Tensor:
        inputs = self.model_inputs(batch)
        if self.spec.loss.op == "model":
            return self.ddp(*inputs).float()
        labels = self._labels(batch, "train")
        if self.mix is not None:
            inputs[0], labels = self.mix(inputs[0], labels)
        return self.loss_fn(self.ddp(*inputs).float(), labels)

    # -- evaluation ----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict:
        """Top-k of every evaluation phase (``val`` per clip, ``val_views`` per video), logged."""
        found = {}
        self.model.eval()
        try:
            for phase in ("val", "val_views"):
                if phase in self.spec.data:
                    found[phase] = self._evaluate(phase)
                    self.log.write({"phase": phase, "epoch": self.epoch, "step": self.step, **found[phase]})
        finally:
            self.model.train()
        return found

    def _evaluate(self, phase: str) -> dict:
        loader = self.loaders[phase]
        self._reseed(loader, 0)
        ks = self.spec.eval.topk
        if self.spec.loss.op == "model":
            losses = TopK(())
            for batch in loader:
                inputs = self.model_inputs(batch)
                with self._autocast():
                    losses.loss_sum += self.model(*inputs).float().item() * len(inputs[0])
                losses.count += len(inputs[0])
            return {"loss": losses.result(self.world)["loss"]}
        if phase == "val_views":
            views = ViewAverage(loader.dataset.num_videos, self.classes, ks)
            for batch in loader:
                with self._autocast():
                    logits = self.model(*self.model_inputs(batch))
                views.add(logits, self._labels(batch, phase).cpu(), torch.as_tensor(batch["video_index"]))
            return views.result(self.world)
        clips = TopK(ks)
        for batch in loader:
            labels = self._labels(batch, phase)
            with self._autocast():
                logits = self.model(*self.model_inputs(batch)).float()
            clips.add(logits, labels, F.cross_entropy(logits, labels).item())
        return clips.result(self.world)


def _clips_in(batch: dict) -> int:
    video = batch["video"]
    return len(video[0] if isinstance(video, list) else video)


def rank_share(loader: torch.utils.data.DataLoader, world: World) -> torch.utils.data.DataLoader:
    """The loader over this rank's share of a map-style evaluation dataset: every ``size``-th
    sample from its rank on, so the ranks' metrics summed count every clip once
    (``DistributedSampler`` pads the ranks to equal length with repeated samples)."""
    options: dict[str, Any] = dict(batch_size=loader.batch_size, num_workers=loader.num_workers,
                                   pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                                   collate_fn=loader.collate_fn)
    if loader.num_workers > 0:
        options.update(persistent_workers=loader.persistent_workers, prefetch_factor=loader.prefetch_factor)
    share = range(world.rank, len(loader.dataset), world.size)
    return torch.utils.data.DataLoader(loader.dataset, sampler=share, **options)


def _leave_signals_to_the_main_process(worker_id: int) -> None:  # noqa: ARG001
    """DataLoader workers ignore SIGINT and SIGTERM (Ctrl-C and a scheduler signal the whole
    process group): the main process finishes its step, checkpoints and shuts them down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _optimizer(model: nn.Module, settings: Any) -> torch.optim.Optimizer:
    """SGD or AdamW; with ``no_decay_norm_bias`` biases and normalisation weights (the 1-d
    parameters) get no weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    if settings.no_decay_norm_bias:
        groups = [{"params": [p for p in params if p.ndim > 1]},
                  {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    else:
        groups = [{"params": params}]
    if settings.op == "SGD":
        return torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum, dampening=settings.dampening,
                               nesterov=settings.nesterov, weight_decay=settings.weight_decay)
    return torch.optim.AdamW(groups, lr=settings.lr, betas=settings.betas, eps=settings.eps,
                             weight_decay=settings.weight_decay)


def _loss(settings: Any) -> Optional[nn.Module]:
    if settings.op == "cross_entropy":
        return nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing)
    if settings.op == "soft_target_cross_entropy":
        from graphspec.losses import SoftTargetCrossEntropyLoss

        return SoftTargetCrossEntropyLoss(normalize_targets=settings.normalize_targets)
    return None
