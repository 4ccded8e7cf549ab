FROM alpine
RUN <<EOF
echo hello
echo $HOME
EOF
RUN <<-"SCRIPT" bash
	echo tabs stripped
	echo $NOT_EXPANDED
	SCRIPT
COPY <<A <<B /etc/
a content
A
b content
B
RUN cat <<one >/x && cat 3<<'two' >/y
first
one
second
two
COPY --chmod=0644 <<conf.txt /conf/
key=$VALUE
conf.txt
