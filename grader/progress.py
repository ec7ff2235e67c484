"""The instructor's view of a batch: a progress bar with ETA, then a one-screen summary."""
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from grader.i18n import _


def isolation_line(layers):
    """One line on the sandbox's layers as a child reported them ({layer: "on" or why not})."""
    missing = {layer: state for layer, state in layers.items() if state != "on"}
    if missing:
        return _("isolation: running without {layers}").format(
            layers="; ".join(f"{layer} ({state})" for layer, state in missing.items()))
    return _("isolation: every layer is on ({layers})").format(layers=", ".join(layers))


class BatchProgress:
    def __init__(self, out):
        self.console = Console(file=out, highlight=False, soft_wrap=True)  # never break a path
        self.progress = Progress(TextColumn(_("grading")), BarColumn(), MofNCompleteColumn(), TextColumn(_("ETA")),
                                 TimeRemainingColumn(), TimeElapsedColumn(), TextColumn("{task.fields[last]}"),
                                 console=self.console, transient=True)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)
        return False

    def update(self, event, **info):
        if event == "start":
            self.task = self.progress.add_task("grading", total=info["total"], last="")
            if info.get("skipped"):
                self.console.print(_("{count} unchanged submission(s) already graded: skipped (use --force to regrade)").format(
                    count=info["skipped"]))
        elif event == "intake":
            self.console.print(info["summary"])
        elif event == "isolation":
            self.console.print(isolation_line(info["layers"]))
        elif event == "graded" and self.task is not None:
            item = info["item"]
            self.progress.update(self.task, advance=1, last=f"{item.student}: {item.score:g}/{item.max_score:g}")

    def print_summary(self, summary):
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_row(_("graded now"), str(len(summary.done)))
        table.add_row(_("skipped (unchanged)"), str(len(summary.skipped)))
        table.add_row(_("unreadable submissions"), str(len(summary.failed)))
        table.add_row(_("class mean"), f"{summary.mean:.1f}" if summary.graded else "-")
        slowest = summary.slowest
        table.add_row(_("slowest"), f"{slowest.student} ({slowest.seconds:.2f} s)" if slowest else "-")
        self.console.print(table)
        for item in summary.failed:
            self.console.print(f"  {item.student}: {item.problem}")
        for student in summary.unknown_students:
            self.console.print("  " + _("--student {student}: no such submission").format(student=student))
        self.console.print(_("results:   {path}").format(path=summary.out_dir / "results"))
        self.console.print(_("grades:    {path}").format(path=summary.out_dir / "grades.csv"))
        self.console.print(_("gradebook: {url}").format(url=summary.gradebook_url))
        if summary.reports_index:
            self.console.print(_("class summary: {path}").format(path=summary.reports_index))
