"""``python -m explainer``: the same as the ``explainer`` command."""

from explainer.cli import main

if __name__ == "__main__":
    main()
