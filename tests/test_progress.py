"""Progress bars are silent off a terminal; chunking covers every step once."""

from spikereduce.progress import chunk_bounds, progress_bar


def test_silent_when_not_a_tty(capsys):
    with progress_bar(10.0, enabled=True) as bar:
        bar.update(5.0)
        bar.advance(100.0)
    assert bar.done == 10.0 and not bar.active
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_chunk_bounds_partition():
    for n, k in [(1, 50), (7, 3), (1000, 50), (10, 10)]:
        chunks = chunk_bounds(n, k)
        assert chunks[0][0] == 0 and chunks[-1][1] == n
        assert all(a < b for a, b in chunks)
        assert all(chunks[i][1] == chunks[i + 1][0] for i in range(len(chunks) - 1))


def test_silenced_blocks_draw_no_bar(monkeypatch):
    from spikereduce import progress

    monkeypatch.setattr(progress, "_in_notebook", lambda: True)  # would draw a bar
    with progress.silenced(), progress.progress_bar(10.0, enabled=True) as bar:
        assert not bar.active
    assert progress._interactive()
