"""The mobile backend: the IR passes of the mobile lowering (``graphspec.mobile.passes``) and the
XNNPACK-friendly modules they emit (``graphspec.mobile.modules``). A library above the compiler
core, which imports none of it (its passes rewrite model ops); it imports nothing itself, so the
Accelerator's blocks can import its modules while its passes import the models."""
