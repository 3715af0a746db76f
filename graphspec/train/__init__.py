"""Training recipes: ``kind: train`` specs, checked statically (``spec``) and run on one process or
under ``torchrun`` with ``DistributedDataParallel`` (``run``, ``loop``).

* ``spec``: the document (pydantic) and its static checks (``compile_document``);
* ``run``: a run (``train``): its folder, resume, the final weights and export;
* ``loop``: the training and evaluation loop (``Trainer``);
* ``checkpoint``: atomic checkpoints, keep-last-K, initial weights with a load report;
* ``metrics``: top-1/top-5, multi-view averaging, the JSON-lines log;
* ``distributed``: torch.distributed set-up from torchrun's environment;
* ``plot``: loss, learning-rate and accuracy curves of a run folder (matplotlib, the ``plot`` extra).

Importing this package imports neither torch nor the compiler: the spec loader reads the
document schema from ``spec`` without them.
"""
