FROM node:20
onbuild copy --chown=node package.json /app/
ONBUILD RUN --network=none npm ci
ONBUILD ENV NODE_ENV=$NODE_ENV
ONBUILD HEALTHCHECK NONE
