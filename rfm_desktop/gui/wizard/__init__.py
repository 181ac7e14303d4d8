"""The five-step analysis wizard: File, Columns, Cleaning, Clustering, Run."""

from rfm_desktop.gui.wizard.wizard import AnalysisWizard

__all__ = ["AnalysisWizard"]
