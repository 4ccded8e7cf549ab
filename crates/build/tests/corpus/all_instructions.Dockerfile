# syntax=docker/dockerfile:1
FROM --platform=linux/amd64 alpine:3.20 AS base
MAINTAINER Jane Doe <jane@example.com>
RUN --mount=type=cache,target=/var/cache/apk --network=none apk add curl
RUN ["/bin/sh", "-c", "echo exec form"]
CMD ["nginx", "-g", "daemon off;"]
ENTRYPOINT /docker-entrypoint.sh
ENV PATH=/opt/bin:$PATH LANG="C.UTF-8"
ENV LEGACY value with spaces
ARG VERSION=1.0 FLAVOR
LABEL org.opencontainers.image.title="demo app" version=$VERSION
EXPOSE 80/tcp 443
COPY --from=builder --chown=app:app --chmod=0755 --link a.txt b.txt /dst/
ADD --checksum=sha256:abc --keep-git-dir https://example.com/x.tar.gz /tmp/
WORKDIR /app
USER app:app
VOLUME ["/data", "/logs"]
VOLUME /cache /tmp/x
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ONBUILD RUN echo triggered
