"""regmed.evaluate — the workflow from a locked plan and study data to an Evaluation."""

from regmed.evaluate.workflow import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
