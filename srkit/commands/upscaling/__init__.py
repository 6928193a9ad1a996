"""The parts of ``srkit upscale`` (the command itself, its options and exit codes:
``srkit.commands.upscale``), one module per concern: ``messages`` (stderr lines, warnings, exit
codes, the interruption message), ``checks`` (every option, input and output, before the model
is loaded), ``models`` (which bundle, loaded how), ``images`` (an image, a folder of images) and
``videos`` (a video job, many videos)."""
