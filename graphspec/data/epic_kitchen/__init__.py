"""EPIC-Kitchens: the action annotations, the dataset base class and manifest builders
(``pytorchvideo.data.epic_kitchen``)."""
from .epic_kitchen_dataset import ActionData, EpicKitchenDataset

__all__ = ["ActionData", "EpicKitchenDataset"]
