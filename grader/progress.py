"""The instructor's view of a batch: a progress bar with ETA, then a one-screen summary."""
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


class BatchProgress:
    def __init__(self, out):
        self.console = Console(file=out, highlight=False, soft_wrap=True)  # never break a path
        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
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
                self.console.print(f"{info['skipped']} unchanged submission(s) already graded: skipped (use --force to regrade)")
        elif event == "isolation":
            missing = {layer: state for layer, state in info["layers"].items() if state != "on"}
            if missing:
                self.console.print("isolation: running without " + "; ".join(f"{layer} ({state})" for layer, state in missing.items()))
            else:
                self.console.print("isolation: every layer is on (" + ", ".join(info["layers"]) + ")")
        elif event == "graded" and self.task is not None:
            item = info["item"]
            self.progress.update(self.task, advance=1, last=f"{item.student}: {item.score:g}/{item.max_score:g}")

    def print_summary(self, summary):
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_row("graded now", str(len(summary.done)))
        table.add_row("skipped (unchanged)", str(len(summary.skipped)))
        table.add_row("unreadable submissions", str(len(summary.failed)))
        table.add_row("class mean", f"{summary.mean:.1f}" if summary.graded else "-")
        slowest = summary.slowest
        table.add_row("slowest", f"{slowest.student} ({slowest.seconds:.2f} s)" if slowest else "-")
        self.console.print(table)
        for item in summary.failed:
            self.console.print(f"  {item.student}: {item.problem}")
        for student in summary.unknown_students:
            self.console.print(f"  --student {student}: no such submission")
        self.console.print(f"results:   {summary.out_dir / 'results'}")
        self.console.print(f"grades:    {summary.out_dir / 'grades.csv'}")
        self.console.print(f"gradebook: {summary.gradebook_url}")
        if summary.reports_index:
            self.console.print(f"class summary: {summary.reports_index}")
