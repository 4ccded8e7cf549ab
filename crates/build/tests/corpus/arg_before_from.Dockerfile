ARG REGISTRY=docker.io
ARG TAG=3.20 BASE=${REGISTRY}/library/alpine:${TAG}
FROM ${BASE} AS base
ARG TAG
RUN echo $TAG
FROM $REGISTRY/library/busybox:${BUSYBOX_TAG:-latest}
