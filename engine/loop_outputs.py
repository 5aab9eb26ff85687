"""A multi-instance activity that runs again (in a loop) writes its output collection anew.

SpiffWorkflow 3.2 refuses to start a multi-instance activity whose list output collection
already holds items ("If the input is not being updated in place, the output must be empty or
it must be a map (dict)"), and, for one driven by ``loopCardinality``, fails on a name it
misspells (``data_ouput``) whenever the collection exists. An activity drawn inside a loop
(score every contact each round) therefore failed from its second pass on, the instance in
error. Here a list output collection left by an earlier pass is emptied when the activity
starts; a map is kept and updated by key, as SpiffWorkflow does; the input collection updated
in place is left as it is.
"""

from __future__ import annotations

from collections.abc import MutableMapping, MutableSequence
from typing import Any


class FreshOutputs:
    """Mixed in before SpiffWorkflow's multi-instance task classes."""

    data_output: Any
    data_input: Any

    def _empty_stale_output(self, my_task: Any, input_data: Any = None) -> None:
        if self.data_output is None or not self.data_output.exists(my_task):
            return
        output = self.data_output.get(my_task)
        if output is input_data or not isinstance(output, MutableSequence) or not output:
            return
        self.data_output.set(my_task, output.__class__())

    def init_data_output_with_input_data(self, my_task: Any, input_data: Any) -> None:
        self._empty_stale_output(my_task, input_data)
        super().init_data_output_with_input_data(my_task, input_data)  # type: ignore[misc]

    def init_data_output_with_cardinality(self, my_task: Any) -> None:
        self._empty_stale_output(my_task)
        if self.data_output.exists(my_task):
            output = self.data_output.get(my_task)
            if isinstance(output, MutableMapping) or (
                isinstance(output, MutableSequence) and not output
            ):
                return  # usable as it is (SpiffWorkflow's own check fails on a typo here)
        super().init_data_output_with_cardinality(my_task)  # type: ignore[misc]
