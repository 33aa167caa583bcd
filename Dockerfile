# vpo-rewards: the API and the job worker (same image, other command).
#
#   docker build -t vpo-rewards .                                   # CPU
#   docker build -t vpo-rewards:gpu --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
#
# The `tests` scorer runs answer code under bubblewrap (user, PID, network, IPC namespaces, as an unprivileged
# user). Inside a container that needs: unprivileged user namespaces on the host (kernel.unprivileged_userns_clone
# = 1; on Ubuntu 23.10+ also kernel.apparmor_restrict_unprivileged_userns = 0 or an AppArmor profile allowing
# bwrap), and a seccomp profile that allows unshare/clone of namespaces and mount inside them: Docker's and
# containerd's default profiles refuse them, so run with `--security-opt seccomp=unconfined` (compose and k8s/
# set this) or a custom profile. No capability is needed (the container runs as a non-root user; bwrap
# drops all of them). Without this the service refuses to enable `tests` (it never runs code unsandboxed
# unless VPO_SANDBOX=unsafe-local is set).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG EXTRAS=server,torch,models
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY trainer_client ./trainer_client
RUN python -m venv /opt/vpo \
 && /opt/vpo/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/vpo/bin/pip install --no-cache-dir --extra-index-url "${TORCH_INDEX}" ".[${EXTRAS}]"

FROM ${PYTHON_IMAGE}
# bubblewrap for the sandbox; python3 (Debian's, /usr/bin/python3) is the interpreter answer code runs in,
# with numpy (python3-numpy: EvalPlus's tests import it), nodejs (/usr/bin/node) runs the tests scorer's
# javascript answers and g++ compiles its cpp answers
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 python3-numpy nodejs g++ tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin vpo
COPY --from=build /opt/vpo /opt/vpo
# a precompiled <bits/stdc++.h> for the cpp answers (about 120 MB; it makes their compilation ~5x faster)
RUN /opt/vpo/bin/vpo-rewards precompile-headers
ENV PATH=/opt/vpo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    VPO_HOST=0.0.0.0 \
    VPO_PORT=8000
USER 10001
WORKDIR /home/vpo
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["tini", "--", "vpo-rewards"]
CMD ["serve"]
