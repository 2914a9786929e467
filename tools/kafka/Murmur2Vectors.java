// Prints the reference vectors of simrun's murmur2 test (src/kafka/murmur2.rs), computed by
// Kafka's own Java implementation. Run it on the broker's classpath:
//
//     java -cp "$(scripts/kafka-local.sh classpath)" tools/kafka/Murmur2Vectors.java

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

public class Murmur2Vectors {
    public static void main(String[] args) {
        String[] keys = {"", "a", "ab", "abc", "abcd", "abcde", "user-1", "user-42", "user-12345",
            "user-199999", "21", "hello, world", "\u00e9t\u00e9", "\u65e5\u672c\u8a9e",
            "the quick brown fox jumps over the lazy dog"};
        for (String key : keys) {
            int hash = Utils.murmur2(key.getBytes(StandardCharsets.UTF_8));
            int positive = Utils.toPositive(hash);
            System.out.printf("(\"%s\", %d, %d, %d),%n", key, hash, positive % 3, positive % 7);
        }
        byte[] raw = {(byte) 0xff, (byte) 0x80, 0x7f, 0x00, (byte) 0xfe};
        System.out.printf("ff 80 7f 00 fe: %d%n", Utils.murmur2(raw));
    }
}
