package simhash_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/simhash"
)

const article = "今年双十一期间，各大电商平台推出了大量优惠活动，消费者踊跃参与抢购，物流公司也提前做好了准备，确保包裹能够及时送达。" +
	"业内人士表示，今年的销售额有望再创新高，但平台之间的竞争也更加激烈，商家需要在价格和服务上下功夫。" +
	"监管部门提醒消费者理性消费，注意防范虚假促销和网络诈骗。不少快递网点在凌晨就开始分拣货物，工作人员轮班作业。" +
	"分析师指出，直播带货已经成为新的增长点，但退货率偏高的问题依然存在。部分平台鼓励商家使用可循环快递箱。"

func Example() {
	h, _ := simhash.New()
	a := h.Fingerprint(article)
	b := h.Fingerprint(article + "（记者 王明）")
	c := h.Fingerprint("The weather will turn cold tomorrow, with snow expected in the north.")
	fmt.Println("near duplicate:", simhash.Near(a, b, 3))
	fmt.Println("unrelated:", simhash.Near(a, c, 3))
	fmt.Println("empty:", h.Fingerprint(" ，。！ ") == simhash.Empty)

	idx, _ := simhash.NewMemoryIndex(3)
	ctx := context.Background()
	_ = idx.Add(ctx, "article-1", a)
	_ = idx.Add(ctx, "weather", c)
	ms, _ := idx.Query(ctx, b)
	for _, m := range ms {
		fmt.Println("match:", m.ID)
	}
	// Output:
	// near duplicate: true
	// unrelated: false
	// empty: true
	// match: article-1
}

func ExampleTokenizer() {
	tk, _ := simhash.NewTokenizer(2)
	fmt.Printf("%q\n", tk.Tokens("ＳＵＰＥＲ Sale！秒杀开始了"))
	// Output:
	// ["super" "sale" "秒杀" "杀开" "开始" "始了"]
}

func ExampleRedisIndex() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	idx, _ := simhash.NewRedisIndex(rdb, 3, simhash.WithPrefix("news:"))
	_ = idx.Add(ctx, "doc-1", 0xF0F0F0F0F0F0F0F0)
	ms, _ := idx.Query(ctx, 0xF0F0F0F0F0F0F0F3) // 2 bits away
	fmt.Println(ms[0].ID, ms[0].Distance)
	removed, _ := idx.Remove(ctx, "doc-1")
	ms, _ = idx.Query(ctx, 0xF0F0F0F0F0F0F0F3)
	fmt.Println(removed, len(ms))
	// Output:
	// doc-1 2
	// true 0
}

func ExampleDistance() {
	fmt.Println(simhash.Distance(0b1011, 0b0001))
	// Output: 2
}
