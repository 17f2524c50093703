"""What the `bioreason` command puts between a user's files and a traceback or a hang: the one-line message for
an error the user can act on (a full disk however the writer reports it, a damaged safetensors file, named), and a
time- and memory-bounded first rendering of a model folder's chat template.
"""

from __future__ import annotations

import os

# How a full disk surfaces besides OSError(ENOSPC): torch's zip writer and safetensors' serializer.
DISK_FULL = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122", "file write failed",
             "unexpected pos")
TEMPLATE_MEMORY_BYTES = 2 * 2**30  # what rendering one prompt may add to the process (a template bomb's cap)


def user_error(error: BaseException, args, user_errors: tuple) -> str | None:
    """The one-line message for an error the user can act on (None for a bug): a bad value or path, a full disk
    (however the writer reports it), a damaged safetensors file (named), one of `user_errors`."""
    import errno

    text = " ".join(str(error).split())
    writer_error = isinstance(error, RuntimeError) or type(error).__name__ == "SafetensorError"
    if (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            writer_error and any(marker in text for marker in DISK_FULL)):
        where = (getattr(error, "filename2", None) or getattr(error, "filename", None)  # a copy's target, else the file
                 or getattr(args, "output_dir", None) or getattr(args, "output", ""))
        return (f"could not write {where}: no space left on device ({text[:160]}); free some space or choose "
                "another output folder")
    if type(error).__name__ == "SafetensorError":
        damaged = _safetensors_file_in(error)
        return f"{damaged or 'a safetensors file'} is damaged ({text}); re-download or re-save it"
    if isinstance(error, user_errors):
        return text or type(error).__name__
    return None


def _safetensors_file_in(error: BaseException) -> str | None:
    """The `.safetensors` file that the failing frames were reading (safetensors' errors do not name it)."""
    traceback = error.__traceback__
    found = None
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            if isinstance(value, (str, os.PathLike)) and str(value).endswith(".safetensors") and os.path.isfile(value):
                found = str(value)
        traceback = traceback.tb_next
    return found


def check_template_renders(processor, messages: list[dict], seconds: float, where: str) -> None:
    """
    Render the chat template once in a forked worker that is killed after `seconds` (with its address space capped
    where the OS allows), so a looping or exploding `chat_template.jinja` in a model folder is an error, never a
    hang. Other errors are left to the real rendering, which raises them as usual.
    """
    import multiprocessing

    def render(connection):
        try:
            import resource

            with open("/proc/self/statm") as handle:  # pages of address space already mapped (Linux)
                mapped = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (mapped + TEMPLATE_MEMORY_BYTES, resource.RLIM_INFINITY))
        except (ImportError, OSError, ValueError):
            pass
        try:
            processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            connection.send(None)
        except BaseException as error:  # MemoryError included: reported, not raised in a child
            connection.send(f"{type(error).__name__}: {error}"[:300])

    if "fork" not in multiprocessing.get_all_start_methods():  # no fork (Windows): render under a watchdog thread
        import threading

        worker = threading.Thread(target=processor.apply_chat_template, args=(messages,), daemon=True,
                                  kwargs={"add_generation_prompt": True, "tokenize": False})
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            raise ValueError(f"{where}: the chat template did not finish rendering within {seconds:g} s.")
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=render, args=(send,), daemon=True)
    worker.start()
    send.close()
    finished = receive.poll(seconds)
    outcome = receive.recv() if finished else None
    if worker.is_alive():
        worker.kill()
    worker.join()
    if not finished:
        raise ValueError(f"{where}: its chat template did not finish rendering within {seconds:g} s (a looping "
                         f"template?); fix chat_template.jinja, or set BIOREASON_TEMPLATE_SECONDS to allow more.")
    if outcome and outcome.startswith("MemoryError"):
        raise ValueError(f"{where}: its chat template needs more than {TEMPLATE_MEMORY_BYTES / 2**30:g} GiB to render "
                         "one prompt; fix chat_template.jinja.")
