# `sam build` runs `make build-<LogicalId>` in each function's and the layer's folder, with
# ARTIFACTS_DIR set (template.yaml: `Metadata: BuildMethod: makefile`). Every such folder has
# a one-line Makefile that includes this file, so the recipe is written once.
#
# Why not SAM's python3.13 builder: it insists on a python3.13 on PATH. pip here fetches
# wheels for Lambda's platform instead, so any python3 with pip builds the same layer.
LAMBDA_PYTHON_VERSION := 3.13
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34), so any manylinux wheel up to 2_34.
LAMBDA_PLATFORMS := manylinux_2_34_x86_64 manylinux_2_28_x86_64 manylinux2014_x86_64
PIP_PYTHON ?= python3
COPIED = $(filter-out Makefile __pycache__,$(wildcard *))

.PHONY: build-WalletLayer
build-WalletLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	cp -R $(COPIED) "$(ARTIFACTS_DIR)/python"
	$(PIP_PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
		--target "$(ARTIFACTS_DIR)/python" --implementation cp \
		--python-version $(LAMBDA_PYTHON_VERSION) $(addprefix --platform ,$(LAMBDA_PLATFORMS)) \
		--only-binary=:all: -r requirements.txt
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# A function is its folder as it stands: it imports only the layer.
build-%:
	$(if $(COPIED),,$(error $(notdir $(ARTIFACTS_DIR)): its folder holds no function code yet))
	cp -R $(COPIED) "$(ARTIFACTS_DIR)"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +
