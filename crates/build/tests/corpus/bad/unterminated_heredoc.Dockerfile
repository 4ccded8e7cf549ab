FROM alpine
RUN echo start
RUN cat <<EOF > /x
line
