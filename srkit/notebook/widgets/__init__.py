"""Interactive views for the notebooks (ipywidgets + matplotlib).

Every panel keeps its logic in plain Python: ``panel.update(**params)`` recomputes, redraws
``panel.figure`` and returns ``panel.state``, so tests drive the callbacks without a browser.
Displaying a panel in a notebook shows its controls and the figure.

- :class:`KernelExplorer`: kernel → PCA code → reconstruction → LR (paper eq. 7).
- :class:`CategoryExplorer`: per-class probabilities, overlay, toggles, probability override → SR.
- :class:`IKCStepper`: IKC step t → SR_t, estimated vs true kernel, error and PSNR curves.
- :class:`IKCComparison`: one step slider over the IKC runs of several variants, with a sentence on each.
- :class:`AblationPanel`: results side by side, one synchronised zoom, a metrics table.
- :class:`FrameStepper`: a clip's frame t from several methods, and the change since frame t − 1.
"""
from srkit.notebook.widgets.ablation_panel import AblationPanel, metrics_table
from srkit.notebook.widgets.category_explorer import CategoryExplorer, overlay, override_probs
from srkit.notebook.widgets.frame_stepper import FrameStepper
from srkit.notebook.widgets.ikc_compare import IKCComparison
from srkit.notebook.widgets.ikc_stepper import IKCStepper
from srkit.notebook.widgets.kernel_explorer import KernelExplorer

__all__ = ["AblationPanel", "CategoryExplorer", "FrameStepper", "IKCComparison", "IKCStepper", "KernelExplorer",
           "metrics_table", "overlay", "override_probs"]
