"""Developer tools run from the repository root as modules (not part of the installed
package), e.g. the notebook renderer used by ``python -m samples.make_samples`` and
``python -m tests.data.corpus.make_corpus``."""
