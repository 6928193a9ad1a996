"""What long runs show: the training bar (srkit.train.loop.TrainingBar) sized to the time budget and
full when the run ends as planned; the notebooks' warning collector (srkit.notebook.env)."""


def test_the_training_bar_is_sized_to_the_budget_and_closes_full():
    """With a time budget the bar counts the budget's seconds (ETA = the budget's end), not the
    schedule; a run the budget ends, or a schedule that ends first, closes the bar full."""
    import io

    from srkit.train.loop import TrainingBar
    out = io.StringIO()
    bar = TrainingBar(steps=100_000, minutes=2, initial=0, desc="train sftmd", file=out)
    assert bar.bar.total == 120
    bar.advance(3, 30.4, {"pixel": 0.1234})
    assert bar.bar.n == 30 and "step=3/100000" in out.getvalue() and "2 min budget" in out.getvalue()
    bar.advance(9, 500.0, {"pixel": 0.1})
    assert bar.bar.n == 120                        # never past the budget
    bar.close(finished=True)
    assert bar.bar.n == bar.bar.total == 120
    early = TrainingBar(steps=10, minutes=5, initial=0, desc="t", file=io.StringIO())
    early.advance(10, 42.0, {})
    early.close(finished=True)                     # schedule done at 42 s of 300: full at 42
    assert early.bar.n == early.bar.total == 42
    plain = TrainingBar(steps=10, minutes=0, initial=4, desc="t", file=io.StringIO())
    plain.advance(7, 1.0, {})
    plain.close(finished=False)                    # interrupted: left short
    assert (plain.bar.n, plain.bar.total) == (7, 10)


def test_collected_warnings_print_one_line_per_message_without_paths(capsys):
    """The notebooks' warning collector: one line per distinct message with its count, no file path."""
    import warnings

    from srkit.notebook.env import collected_warnings
    with collected_warnings("guard warnings"):
        for _ in range(3):
            warnings.warn("Set14 image 0 (x2): kernel code clipped into the trained region", RuntimeWarning)
        warnings.warn("Set14 image 1 (x2): 12 SR pixels replaced", UserWarning)
    out = capsys.readouterr().out.splitlines()
    assert out == ["guard warnings: 4 (2 distinct)",
                   "  RuntimeWarning: Set14 image 0 (x2): kernel code clipped into the trained region (×3)",
                   "  UserWarning: Set14 image 1 (x2): 12 SR pixels replaced"]
    with collected_warnings():
        pass
    assert capsys.readouterr().out == ""
