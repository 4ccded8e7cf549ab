FROM alpine
RUN echo hi
FORM alpine
